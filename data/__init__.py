"""Where data comes from: expert datasets (Minari, D4RL-layout HDF5), replay memory, transition batches."""

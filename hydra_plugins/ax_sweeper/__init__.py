"""A Hydra sweeper that runs Bayesian optimisation with ax-platform 1.x (selected with hydra/sweeper=ax)."""

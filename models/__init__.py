"""Neural networks of the suite: MLPs, the squashed-Gaussian actor and ensembles of critics."""

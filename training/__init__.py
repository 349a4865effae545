"""The training loop and what surrounds it: config checks, evaluation, logging, checkpoints."""

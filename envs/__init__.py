"""Gymnasium environment construction, the absorbing-state wrapper, and score normalisation."""

"""Behavioural cloning (Pomerleau, 1991): maximum likelihood of the expert's actions, no environment steps.

The training itself is the shared BC pre-training of `algorithms.base` (also usable before any method via
`bc_pretraining.iterations`); the run evaluates the cloned policy once at the end.
"""
from __future__ import annotations

from algorithms.base import Algorithm


class BC(Algorithm):
    needs_expert_actions = True
    interacts_with_env = False
    supports_offline = True  # it always is

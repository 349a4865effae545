"""Plain SAC on the environment's true reward: the trivial method, and the suite's RL baseline (and expert
learner). The learner itself lives in `algorithms.sac`; this method adds nothing to it."""
from __future__ import annotations

from omegaconf import DictConfig

from algorithms.base import Algorithm


class SAC(Algorithm):
    """The base behaviour: SAC on the stored (true) reward. It reads expert data only for BC pre-training or
    the BC auxiliary loss, if asked for."""

    @classmethod
    def needs_expert_data(cls, cfg: DictConfig) -> bool:
        return cfg.imitation.bc_aux_loss or cfg.bc_pretraining.iterations > 0

"""The interface between the training loop and a method.

The loop only ever calls these hooks, so a new method is one subclass plus one config file:

    check_config(cfg)          refuse incompatible options before any work (classmethod)
    pretrain(log)              before the first environment step (reward-model fitting; BC pre-training of the
                               actor, bc_pretraining.iterations, is the loop's and comes first)
    collection_reward, episode_started    rewards computed while collecting (PWIL)
    prefill_rows()             expert rows for imitation.mix_expert_data=prefill_memory
    update(agent, expert)      one update: `update_reward_model` (e.g. a discriminator step), then
                               `learner_update` (mixing, `relabel` with the method's rewards, SAC with its
                               optional BC auxiliary step); agent is None in offline mode, where only expert
                               data is used
    learned_reward(batch)      the method's reward for transitions, if it has one (for the reward correlation)
    state_dict / load_state_dict   everything the method learns besides the SAC learner, for checkpoints

and asks `needs_expert_data(cfg)`, and reads four class attributes: whether the method needs expert actions,
whether it takes environment steps, whether it can learn offline from expert data alone, and which ways of mixing
expert data into SAC batches it supports.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from omegaconf import DictConfig

from data.expert import ExpertData
from data.transitions import Transitions, half_expert_batch
from errors import UserError, check_choice

if TYPE_CHECKING:
    from algorithms.sac import SoftActorCritic

MIX_MODES = ("none", "mixed_batch", "prefill_memory")
LogFn = Callable[[int, dict[str, torch.Tensor | float]], None]  # (environment step, metrics) -> one metrics row


class Algorithm:
    """A method trained with the shared SAC learner. The base behaviour is SAC on the stored (true) reward."""

    needs_expert_actions = False
    interacts_with_env = True
    supports_offline = False
    expert_mixing: tuple[str, ...] = ()  # which imitation.mix_expert_data modes besides none the method supports
    reward_depends_on_batch = False  # True where a transition's reward is relative to the rows scored with it

    def __init__(self, cfg: DictConfig, sac: SoftActorCritic, expert: ExpertData | None):
        self.cfg, self.sac, self.expert = cfg, sac, expert

    @classmethod
    def needs_expert_data(cls, cfg: DictConfig) -> bool:
        return True

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        """Raise UserError for options this method cannot honour."""
        needs_actions = cls.needs_expert_actions or cfg.imitation.bc_aux_loss or cfg.bc_pretraining.iterations > 0
        if cfg.imitation.state_only and needs_actions:
            raise UserError(f"algorithm={cfg.algorithm.name} with BC pre-training or the BC auxiliary loss needs "
                            f"expert actions; set imitation.state_only=false")
        check_choice(cfg.imitation, "mix_expert_data", MIX_MODES, prefix="imitation")
        if cfg.imitation.mix_expert_data not in ("none", *cls.expert_mixing):
            raise UserError(f"algorithm={cfg.algorithm.name} does not support imitation.mix_expert_data="
                            f"{cfg.imitation.mix_expert_data}; use " + " or ".join(("none", *cls.expert_mixing)))
        if cfg.imitation.mix_expert_data != "none" and cfg.imitation.state_only:
            raise UserError(f"imitation.mix_expert_data={cfg.imitation.mix_expert_data} puts expert actions into "
                            f"SAC batches, which state-only imitation withholds; set one of them off")
        if cfg.imitation.offline and not cls.supports_offline:
            raise UserError(f"algorithm={cfg.algorithm.name} cannot learn offline; set imitation.offline=false or "
                            f"use an offline-capable method (BC, IQLearn, LSIQ)")

    def pretrain(self, log: LogFn) -> None:
        """Before any environment step, after the shared BC pre-training of the actor (if asked for): fit
        whatever the method learns from expert data alone (nothing by default)."""

    def update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """One update: the method's reward model on the unmixed batches, then the learner."""
        return self.update_reward_model(agent, expert) | self.learner_update(agent, expert)

    def update_reward_model(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """One step of whatever reward model the method learns (none by default)."""
        return {}

    def relabel(self, batch: Transitions, expert: Transitions | None) -> Transitions:
        """The SAC batch with the method's rewards (given the current expert batch); the base method keeps the
        stored reward."""
        return batch

    def collection_reward(self, obs: np.ndarray, action: np.ndarray, reward: float) -> float:
        """The reward stored with a newly collected transition: the environment's, unless the method computes
        its own at collection time."""
        return reward

    def episode_started(self, episodes_completed: int) -> None:
        """Called at every reset of the training environment, with the number of training episodes ended so far."""

    def prefill_rows(self) -> torch.Tensor:
        """Expert rows copied into the replay memory for imitation.mix_expert_data=prefill_memory (weights 1)."""
        expert = self.expert_data()
        rows = expert.rows.clone()
        rows[:, expert.layout.columns["weight"]] = 1.0
        return rows

    def expert_data(self) -> ExpertData:
        """The run's expert data; only methods for which `needs_expert_data` holds may ask."""
        if self.expert is None:
            raise RuntimeError(f"{type(self).__name__} asked for expert data the run did not load")
        return self.expert

    def learner_update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """Expert mixing (imitation.mix_expert_data=mixed_batch), relabelling, then the SAC update (which takes
        the BC auxiliary step on the expert batch first, if imitation.bc_aux_loss). Only methods that support
        offline learning are given no agent batch (check_config refuses the others)."""
        if agent is None:
            raise RuntimeError(f"{type(self).__name__} cannot learn without agent data")
        batch = agent
        if self.cfg.imitation.mix_expert_data == "mixed_batch" and expert is not None:
            batch = half_expert_batch(agent, expert)
        batch = self.relabel(batch, expert)
        return self.sac.update(batch, bc_batch=expert)

    def learned_reward(self, transitions: Transitions) -> torch.Tensor | None:
        """The method's reward for each transition (None without a reward model); evaluations report its
        Pearson correlation with the true reward on the agent's own transitions."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

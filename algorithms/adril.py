"""AdRIL (Swamy et al., 2021) and SQIL (Reddy et al., 2019): SAC on constant relabelled rewards, no reward model.

Every SAC batch mixes expert and agent rows: alternately a whole expert batch and a whole agent batch
(`balanced`), or half of each. Expert rows get 1/N_E (N_E expert trajectories). With update_freq F > 0 (AdRIL)
agent rows collected in an earlier round (rounds of F environment steps) get -1/N_P, N_P being the number of
agent episodes completed so far, and rows of the current round 0. F = 0 gives SQIL's labels: expert 1, agent 0.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm
from data.transitions import Transitions, half_expert_batch
from errors import UserError


def relabelled_rewards(is_expert: torch.Tensor, row_steps: torch.Tensor, now: int, update_freq: int,
                       expert_trajectories: int, agent_episodes: int) -> torch.Tensor:
    """AdRIL's rewards (SQIL's when update_freq = 0) for rows marked expert or not, collected at row_steps."""
    if update_freq == 0:
        return is_expert.float()
    earlier_round = torch.ceil(row_steps / update_freq) < math.ceil(now / update_freq)
    agent_reward = torch.where(earlier_round, -1.0 / max(agent_episodes, 1), 0.0)
    return torch.where(is_expert, 1.0 / expert_trajectories, agent_reward)


class AdRIL(Algorithm):
    needs_expert_actions = True
    expert_mixing = ("mixed_batch",)

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = cfg.algorithm
        self.updates = 0
        self.env_steps = 0
        self.agent_episodes = 0  # N_P: agent episodes completed so far

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        if cfg.imitation.mix_expert_data != "mixed_batch":
            raise UserError(f"algorithm={cfg.algorithm.name} trains on mixed expert and agent batches; set "
                            f"imitation.mix_expert_data=mixed_batch")
        if not isinstance(cfg.algorithm.update_freq, int) or cfg.algorithm.update_freq < 0:
            raise UserError(f"algorithm.update_freq={cfg.algorithm.update_freq!r} must be an integer >= 0 "
                            f"(0 = SQIL's labels)")

    def collection_reward(self, obs: np.ndarray, action: np.ndarray, reward: float) -> float:
        self.env_steps += 1  # the current step, for AdRIL's rounds
        return reward

    def episode_started(self, episodes_completed: int) -> None:
        self.agent_episodes = episodes_completed

    def learner_update(self, agent: Transitions, expert: Transitions) -> dict[str, torch.Tensor]:
        self.updates += 1
        if self.options.balanced:
            from_expert = self.updates % 2 == 1
            batch = expert if from_expert else agent
            is_expert = torch.full((len(batch),), from_expert, dtype=torch.bool, device=batch.obs.device)
        else:
            batch = half_expert_batch(agent, expert)
            is_expert = torch.arange(len(batch), device=batch.obs.device) < len(agent) // 2
        rewards = relabelled_rewards(is_expert, batch.step, self.env_steps, self.options.update_freq,
                                     len(self.expert.episode_returns), self.agent_episodes)
        return self.sac.update(batch.replace(reward=rewards), bc_batch=expert)

    def state_dict(self) -> dict:
        return {"updates": self.updates, "env_steps": self.env_steps}

    def load_state_dict(self, state: dict) -> None:
        self.updates, self.env_steps = state["updates"], state["env_steps"]

"""PWIL (Dadashi et al., 2020): primal Wasserstein imitation. Each episode greedily transports the agent's
state-action atoms (mass 1/T each, T the time limit) onto the expert's atoms (every expert row, mass 1/N_E,
standardised with the expert's feature means and deviations); a step's reward is alpha exp(-beta T / sqrt(D) c),
c being the transport cost of its mass. The reward is computed once, at collection time, and stored; the
absorbing self-loop after a termination keeps reward 0. Nothing is learned.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm
from data.transitions import Transitions
from training.errors import UserError


class GreedyCoupling:
    """The expert atoms of one episode, consumed greedily nearest-first by the agent's atoms."""

    def __init__(self, atoms: np.ndarray, step_mass: float):
        self.atoms, self.step_mass = atoms, step_mass
        self.reset()

    def reset(self) -> None:
        self.mass = np.full(len(self.atoms), 1.0 / len(self.atoms))

    def cost(self, atom: np.ndarray) -> float:
        """Transport `step_mass` of `atom` onto the nearest remaining expert mass; returns the cost."""
        distances = np.where(self.mass > 0, np.linalg.norm(self.atoms - atom, axis=1), np.inf)
        budget, cost = self.step_mass, 0.0
        while budget > 0:
            count = min(len(distances), math.ceil(budget * len(self.atoms)) + 1)  # enough atoms, usually
            nearest = np.argpartition(distances, count - 1)[:count]
            for index in nearest[np.argsort(distances[nearest])]:
                moved = min(self.mass[index], budget)
                cost += moved * distances[index]
                self.mass[index] -= moved
                budget -= moved
                if self.mass[index] <= 0:
                    distances[index] = np.inf
                if budget <= 0:
                    break
        return cost


class PWIL(Algorithm):
    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = cfg.algorithm
        self.state_only = cfg.imitation.state_only
        atoms = self.features(expert.all()).cpu().numpy().astype(np.float64)
        self.mean, std = atoms.mean(axis=0), atoms.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        horizon = cfg.env.max_episode_steps
        self.coupling = GreedyCoupling((atoms - self.mean) / self.std, 1.0 / horizon - 1e-6)
        self.bandwidth = self.options.reward_bandwidth_scale * horizon / math.sqrt(atoms.shape[1])

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        if cfg.algorithm.reward_scale <= 0 or cfg.algorithm.reward_bandwidth_scale <= 0:
            raise UserError("algorithm.reward_scale and algorithm.reward_bandwidth_scale must be > 0")

    def features(self, batch: Transitions) -> torch.Tensor:
        return batch.obs if self.state_only else torch.cat([batch.obs, batch.action], dim=1)

    def episode_started(self) -> None:
        self.coupling.reset()

    def reward_of_cost(self, cost: float | np.ndarray):
        return self.options.reward_scale * np.exp(-self.bandwidth * cost)

    def collection_reward(self, obs: np.ndarray, action: np.ndarray, reward: float) -> float:
        atom = obs if self.state_only else np.concatenate([obs, action])
        return float(self.reward_of_cost(self.coupling.cost((atom - self.mean) / self.std)))

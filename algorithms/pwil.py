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
from errors import UserError


class GreedyCoupling:
    """The expert atoms of one episode, consumed greedily nearest-first by the agent's atoms.

    Vectorised for speed: squared distances come from one matrix-vector product, the nearest atoms from a
    partial sort, and the mass they give from a cumulative sum; exhausted atoms sit at infinite distance.
    """

    def __init__(self, atoms: np.ndarray, step_mass: float):
        self.atoms, self.step_mass = atoms, step_mass
        self.squared_norms = (atoms ** 2).sum(axis=1)
        self.reset()

    def reset(self) -> None:
        self.mass = np.full(len(self.atoms), 1.0 / len(self.atoms))
        self.exhausted = np.zeros(len(self.atoms))  # 0, or inf once an atom's mass is used up

    def cost(self, atom: np.ndarray) -> float:
        """Transport `step_mass` of `atom` onto the nearest remaining expert mass; returns the cost."""
        squared = self.squared_norms - 2.0 * (self.atoms @ atom) + atom @ atom + self.exhausted
        budget, cost = self.step_mass, 0.0
        while budget > 1e-12 * self.step_mass:
            count = min(len(squared), math.ceil(budget * len(self.atoms)) + 1)  # usually enough mass
            candidates = np.argpartition(squared, count - 1)[:count]
            order = candidates[np.argsort(squared[candidates])]
            distance = np.sqrt(np.maximum(squared[order], 0.0))
            cumulative = np.cumsum(self.mass[order])
            used = int(np.searchsorted(cumulative, budget))  # order[:used] give all their mass
            taken = self.mass[order[:used]]
            cost += float(taken @ distance[:used])
            self.use_up(order[:used], squared)
            if used == len(order):
                budget -= float(taken.sum())
                continue
            remainder = budget - (cumulative[used - 1] if used else 0.0)
            cost += remainder * distance[used]
            self.mass[order[used]] -= remainder
            if self.mass[order[used]] <= 0:
                self.use_up(order[used:used + 1], squared)
            budget = 0.0
        return cost

    def use_up(self, indices: np.ndarray, squared: np.ndarray) -> None:
        self.mass[indices] = 0.0
        self.exhausted[indices] = np.inf
        squared[indices] = np.inf


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

    def episode_started(self, episodes_completed: int) -> None:
        self.coupling.reset()

    def state_dict(self) -> dict:
        """The coupling's remaining expert mass, which the episode in progress has been using up."""
        return {"mass": self.coupling.mass.copy(), "exhausted": self.coupling.exhausted.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.coupling.mass, self.coupling.exhausted = state["mass"].copy(), state["exhausted"].copy()

    def reward_of_cost(self, cost: float | np.ndarray):
        return self.options.reward_scale * np.exp(-self.bandwidth * cost)

    def collection_reward(self, obs: np.ndarray, action: np.ndarray, reward: float) -> float:
        atom = obs if self.state_only else np.concatenate([obs, action])
        return float(self.reward_of_cost(self.coupling.cost((atom - self.mean) / self.std)))

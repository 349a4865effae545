"""GMMIL (Kim & Park, 2018): the reward is the witness function of the maximum mean discrepancy between the
agent's and the expert's state-action samples, under a sum of two Gaussian kernels whose bandwidths are set by
the median heuristic on the first batch and then frozen. No parameters are learned.

For a SAC batch X (weights w) and the expert batch Y (weights v), normalised to sum to one, and
delta(x, y) = mean_k (x_k - y_k)^2:

    r(x_i) = sum_k [ sum_j v_j exp(-g_k delta(x_i, y_j)) - sum_j w_j exp(-g_k delta(x_i, x_j)) ]

(the paper's witness, without the reference code's extra w_i factor).
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm
from data.transitions import Transitions


def squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """delta(x_i, y_j) = mean over features of the squared difference, shape (len(x), len(y))."""
    return torch.cdist(x, y) ** 2 / x.shape[1]


def weighted_median(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The smallest value whose cumulative normalised weight reaches 0.5."""
    order = torch.argsort(values.flatten())
    cumulative = torch.cumsum(weights.flatten()[order], 0) / weights.sum()
    return values.flatten()[order][torch.searchsorted(cumulative, torch.tensor(0.5, device=values.device))]


def kernel_mean(x: torch.Tensor, y: torch.Tensor, y_weight: torch.Tensor, bandwidths: torch.Tensor,
                chunk: int = 4096) -> torch.Tensor:
    """sum_k sum_j y_weight_j exp(-g_k delta(x_i, y_j)) for every x_i (x in chunks: memory stays chunk x len(y))."""
    return torch.cat([sum(torch.exp(-g * squared_distances(part, y)) @ y_weight for g in bandwidths)
                      for part in x.split(chunk)])


def squared_mmd(x: torch.Tensor, y: torch.Tensor, x_weight: torch.Tensor, y_weight: torch.Tensor,
                bandwidths: torch.Tensor) -> torch.Tensor:
    """MMD^2 between the weighted samples x and y (weights normalised to sum to one)."""
    x_weight, y_weight = x_weight / x_weight.sum(), y_weight / y_weight.sum()
    return (x_weight @ kernel_mean(x, x, x_weight, bandwidths) + y_weight @ kernel_mean(y, y, y_weight, bandwidths)
            - 2 * x_weight @ kernel_mean(x, y, y_weight, bandwidths))


class GMMIL(Algorithm):
    expert_mixing = ("mixed_batch", "prefill_memory")
    reward_depends_on_batch = True  # the witness subtracts the batch's own kernel mean

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.state_only = cfg.imitation.state_only
        self.bandwidths: torch.Tensor | None = None  # fixed by the median heuristic on the first batch

    def features(self, batch: Transitions) -> torch.Tensor:
        return batch.obs if self.state_only else torch.cat([batch.obs, batch.action], dim=1)

    @torch.no_grad()
    def relabel(self, batch: Transitions, expert: Transitions) -> Transitions:
        x, y = self.features(batch), self.features(expert)
        if self.bandwidths is None:
            cross = weighted_median(squared_distances(x, y), batch.weight[:, None] * expert.weight[None, :])
            within = weighted_median(squared_distances(y, y), expert.weight[:, None] * expert.weight[None, :])
            self.bandwidths = torch.stack([1 / (cross + 1e-8), 1 / (within + 1e-8)])
        x_weight, y_weight = batch.weight / batch.weight.sum(), expert.weight / expert.weight.sum()
        reward = kernel_mean(x, y, y_weight, self.bandwidths) - kernel_mean(x, x, x_weight, self.bandwidths)
        return batch.replace(reward=reward)

    def learned_reward(self, transitions: Transitions) -> torch.Tensor | None:
        if self.bandwidths is None:
            return None
        expert = self.expert.sample(min(len(self.expert), 4096))
        return self.relabel(transitions, expert).reward

    def state_dict(self) -> dict:
        return {"bandwidths": self.bandwidths}

    def load_state_dict(self, state: dict) -> None:
        self.bandwidths = state["bandwidths"]

"""Soft Q-functions: an ensemble of Q(s, a) networks evaluated as one batched network."""
from __future__ import annotations

import torch
from torch import nn

from models.mlp import EnsembleMLP


class EnsembleCritic(nn.Module):
    """`count` independent Q(s, a) MLPs (count=2: SAC's twin critics; 1 for IQ-Learn / LS-IQ)."""

    def __init__(self, obs_size: int, action_size: int, count: int, hidden_size: int, depth: int, activation: str):
        super().__init__()
        self.count = count
        self.net = EnsembleMLP(count, obs_size + action_size, 1, hidden_size, depth, activation)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Q-values of every member, shape (count, B)."""
        return self.net(torch.cat([obs, action], dim=-1)).squeeze(-1)

    def min(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Pessimistic value min_j Q_j(s, a), shape (B,)."""
        return self(obs, action).min(dim=0).values

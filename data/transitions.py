"""Batches of transitions and the flat row layout that lets a batch be gathered with one indexing op."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Transitions:
    """A batch of (s, a, r, s', d, u, w) rows.

    terminal (d) is a true termination (never a time-limit cut); timeout (u) marks a time-limit cut, which
    bootstraps; weight (w) is the importance weight of subsampled expert rows (1 otherwise).
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminal: torch.Tensor
    timeout: torch.Tensor
    weight: torch.Tensor

    def __len__(self) -> int:
        return self.obs.shape[0]

    def replace(self, **fields: torch.Tensor) -> "Transitions":
        return dataclasses.replace(self, **fields)

    def to(self, device: torch.device) -> "Transitions":
        return Transitions(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    @staticmethod
    def concatenate(first: "Transitions", second: "Transitions") -> "Transitions":
        """Rows of `first`, then rows of `second`."""
        return Transitions(**{f.name: torch.cat([getattr(first, f.name), getattr(second, f.name)])
                              for f in dataclasses.fields(first)})


class RowLayout:
    """Column ranges of each field in a flat (N, width) float tensor: [s | a | r | s' | d | u | w]."""

    def __init__(self, obs_size: int, action_size: int):
        self.obs_size, self.action_size = obs_size, action_size
        sizes = {"obs": obs_size, "action": action_size, "reward": 1, "next_obs": obs_size,
                 "terminal": 1, "timeout": 1, "weight": 1}
        self.columns: dict[str, slice] = {}
        start = 0
        for name, size in sizes.items():
            self.columns[name] = slice(start, start + size)
            start += size
        self.width = start

    def split(self, rows: torch.Tensor) -> Transitions:
        """View a (B, width) tensor as Transitions (scalar fields become shape (B,))."""
        fields = {name: rows[:, cols] for name, cols in self.columns.items()}
        for name in ("reward", "terminal", "timeout", "weight"):
            fields[name] = fields[name].squeeze(1)
        return Transitions(**fields)

    def join(self, batch: Transitions) -> torch.Tensor:
        """Inverse of split: pack Transitions into (B, width) rows."""
        parts = [getattr(batch, name) for name in self.columns]
        return torch.cat([p.reshape(len(batch), -1).float() for p in parts], dim=1)

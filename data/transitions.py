"""Batches of transitions and the flat row layout that lets a batch be gathered with one indexing op."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Transitions:
    """A batch of (s, a, r, s', d, u, w) rows.

    terminal (d) is a true termination (never a time-limit cut); timeout (u) marks a time-limit cut, which
    bootstraps; weight (w) is the importance weight of subsampled expert rows (1 otherwise); step is the
    environment step at which an agent row was collected (0 for expert rows; None for hand-made batches).
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminal: torch.Tensor
    timeout: torch.Tensor
    weight: torch.Tensor
    step: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.obs.shape[0]

    def replace(self, **fields: torch.Tensor) -> Transitions:
        return dataclasses.replace(self, **fields)

    def map(self, function, *others: Transitions) -> Transitions:
        """Apply `function` field by field (to this batch's field and the same field of `others`)."""
        fields = {}
        for field in dataclasses.fields(self):
            values = [getattr(batch, field.name) for batch in (self, *others)]
            fields[field.name] = None if any(v is None for v in values) else function(*values)
        return Transitions(**fields)

    def to(self, device: torch.device) -> Transitions:
        return self.map(lambda field: field.to(device))

    @staticmethod
    def concatenate(first: Transitions, second: Transitions) -> Transitions:
        """Rows of `first`, then rows of `second`."""
        return first.map(lambda a, b: torch.cat([a, b]), second)


def half_expert_batch(agent: Transitions, expert: Transitions) -> Transitions:
    """The agent batch with its first half (every field) replaced by the first half of the expert batch."""
    half = len(agent) // 2
    return expert.map(lambda e, a: torch.cat([e[:half], a[half:]]), agent)


class RowLayout:
    """Column ranges of each field in a flat (N, width) float tensor: [s | a | r | s' | d | u | w | step]."""

    def __init__(self, obs_size: int, action_size: int):
        self.obs_size, self.action_size = obs_size, action_size
        sizes = {"obs": obs_size, "action": action_size, "reward": 1, "next_obs": obs_size,
                 "terminal": 1, "timeout": 1, "weight": 1, "step": 1}
        self.columns: dict[str, slice] = {}
        start = 0
        for name, size in sizes.items():
            self.columns[name] = slice(start, start + size)
            start += size
        self.width = start

    def split(self, rows: torch.Tensor) -> Transitions:
        """View a (B, width) tensor as Transitions (scalar fields become shape (B,))."""
        fields = {name: rows[:, cols] for name, cols in self.columns.items()}
        for name in ("reward", "terminal", "timeout", "weight", "step"):
            fields[name] = fields[name].squeeze(1)
        return Transitions(**fields)

"""Preallocated replay memory: one (capacity, width) tensor on the training device, a ring buffer."""
from __future__ import annotations

import os

import numpy as np
import torch

from data.transitions import RowLayout, Transitions
from errors import UserError


def check_fits(size_bytes: int, device: torch.device) -> None:
    """Refuse a replay memory larger than the device's memory, before allocating it (an allocation that large
    ends in an out-of-memory kill, or a deep error, mid-start-up)."""
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[1]
    else:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size_bytes > available:
        raise UserError(f"memory.size asks for a replay memory of {size_bytes / 2**30:.1f} GiB, more than the "
                        f"{available / 2**30:.1f} GiB of this {device.type} device; lower memory.size")


class ReplayMemory:
    """Stores agent transitions; sampling is uniform with replacement over the filled rows."""

    def __init__(self, capacity: int, obs_size: int, action_size: int, device: torch.device):
        self.layout = RowLayout(obs_size, action_size)
        self.capacity = capacity
        check_fits(capacity * self.layout.width * 4, device)
        self.rows = torch.zeros(capacity, self.layout.width, device=device)
        self.position = 0  # next row to write
        self.size = 0
        self._staging = np.zeros(self.layout.width, dtype=np.float32)  # one host->device copy per row

    def __len__(self) -> int:
        return self.size

    def append(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
               terminal: bool, timeout: bool, step: int = 0) -> None:
        row, cols = self._staging, self.layout.columns
        row[cols["obs"]] = obs
        row[cols["action"]] = action
        row[cols["reward"]] = reward
        row[cols["next_obs"]] = next_obs
        row[cols["terminal"]] = terminal
        row[cols["timeout"]] = timeout
        row[cols["weight"]] = 1.0
        row[cols["step"]] = step
        self.rows[self.position] = torch.from_numpy(row)
        self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def extend(self, rows: torch.Tensor) -> None:
        """Append (N, width) rows at once, e.g. expert rows prefilled before training."""
        for row in rows[-self.capacity:].to(self.rows):
            self.rows[self.position] = row
            self.position = (self.position + 1) % self.capacity
        self.size = min(self.size + len(rows), self.capacity)

    def sample(self, batch_size: int) -> Transitions:
        index = torch.randint(0, self.size, (batch_size,), device=self.rows.device)
        return self.layout.split(self.rows[index])

    def state_dict(self) -> dict:
        return {"rows": self.rows[:self.size].cpu().clone(), "position": self.position, "size": self.size}

    def load_state_dict(self, state: dict) -> None:
        width = state["rows"].shape[1]
        if width != self.layout.width:
            raise UserError(f"the checkpoint's replay rows have {width} columns where this version of the suite "
                            f"stores {self.layout.width}; it was saved by another version: start a new run")
        self.rows[:state["size"]] = state["rows"].to(self.rows)
        self.position, self.size = state["position"], state["size"]

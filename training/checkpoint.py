"""Whole-run checkpoints (models, optimisers, the method's state, replay memory, random states, counters), written
atomically so that a kill never leaves a half-written file."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from algorithms.base import Algorithm
from algorithms.sac import SoftActorCritic
from data.memory import ReplayMemory
from training.random_state import capture_random_state, restore_random_state
from training.run import Progress, Run

CHECKPOINT_NAME = "checkpoint.pt"


class NonFiniteLossError(RuntimeError):
    """A loss or parameter became NaN/inf; the run stops and keeps its last good checkpoint."""


def save_checkpoint(run_dir: Path, state: dict) -> None:
    path = run_dir / CHECKPOINT_NAME
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(run_dir: Path) -> dict | None:
    path = run_dir / CHECKPOINT_NAME
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def save_run(run: Run, episode_in_progress: dict | None = None) -> None:
    """The whole run, with the training episode in progress (the collector's state) when there is one."""
    parameters = torch.cat([p.detach().reshape(-1) for p in run.sac.parameters()])
    if not torch.isfinite(parameters).all():
        raise NonFiniteLossError("non-finite network parameters")
    save_checkpoint(run.run_dir, {
        "progress": run.progress, "sac": run.sac.state_dict(), "optimisers": run.sac.optimiser_state(),
        "method": run.method.state_dict(), "memory": run.memory.state_dict() if run.memory else None,
        "episode_in_progress": episode_in_progress,
        "rng": capture_random_state(),
    })


def restore(checkpoint: dict, sac: SoftActorCritic, method: Algorithm, memory: ReplayMemory | None) -> Progress:
    sac.load_state_dict(checkpoint["sac"])
    sac.load_optimiser_state(checkpoint["optimisers"])
    method.load_state_dict(checkpoint["method"])
    if memory is not None:
        memory.load_state_dict(checkpoint["memory"])
    restore_random_state(checkpoint["rng"])
    return checkpoint["progress"]

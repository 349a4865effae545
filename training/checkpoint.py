"""Whole-run checkpoints, written atomically so that a kill never leaves a half-written file."""
from __future__ import annotations

import os
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(run_dir: Path, state: dict) -> None:
    path = run_dir / CHECKPOINT_NAME
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(run_dir: Path) -> dict | None:
    path = run_dir / CHECKPOINT_NAME
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None

"""Which code made a result: the git commit of this checkout, and the torch thread count (a seed repeats bit
for bit only with the same count)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from training.run import Progress

REPO_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The git commit of this code (with -dirty when there are uncommitted changes), or 'unknown'."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record_provenance(progress: Progress) -> None:
    """Note the code version and torch thread count that start (or resume) the run, at the start: the code may
    change later."""
    progress.code_version = appended(progress.code_version, code_version())
    progress.torch_threads = appended(progress.torch_threads, str(torch.get_num_threads()))


def appended(history: str, entry: str) -> str:
    """`history` ("a + b") with `entry` added at the end, unless it already holds it."""
    if not history:
        return entry
    return history if entry in history.split(" + ") else f"{history} + {entry}"

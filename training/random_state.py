"""The process-wide random generators (Python's, NumPy's, torch's CPU and CUDA ones) as one saveable state: what a
checkpoint saves, and what a seed group swaps in and out as each of its seeds takes its turn."""
from __future__ import annotations

import random

import numpy as np
import torch


def capture_random_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])

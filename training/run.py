"""The state of one run: what it builds before its first step, and the counters its checkpoints save."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import gymnasium as gym
from omegaconf import DictConfig

from algorithms.base import Algorithm
from algorithms.sac import SoftActorCritic
from data.memory import ReplayMemory
from training.logger import MetricsLog


@dataclass
class Progress:
    """Loop counters saved in checkpoints."""

    step: int = 0
    episodes: int = 0
    evaluations: list[dict] = field(default_factory=list)
    recent_returns: list[float] = field(default_factory=list)  # training episodes since the last log row
    code_version: str = ""  # the code that ran it: "a + b" when it was resumed with other code
    torch_threads: str = ""  # likewise; a seed repeats bit for bit only with the same thread count


@dataclass
class Run:
    """Everything one run builds before its first step."""

    cfg: DictConfig
    run_dir: Path
    method: Algorithm
    sac: SoftActorCritic
    env: gym.Env
    eval_envs: list[gym.Env]
    memory: ReplayMemory | None
    references: tuple[float, float]  # (random, expert) returns
    log: MetricsLog
    progress: Progress
    lock: TextIO  # holds the run directory for this process (training/run_directory.py)
    episode_in_progress: dict | None = None  # the training episode a checkpoint was taken in (see Collector)
    random_state: dict = field(default_factory=dict)  # the run's random generators while another seed works
    in_group: bool = False  # one of several seeds trained in one process (training/seed_group.py)

"""Shared fixtures: composed configs and small expert datasets made inside the test."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from data.sources import Episode

REPO_ROOT = Path(__file__).resolve().parent.parent

# Tests use tiny networks, for which extra threads only add synchronisation cost.
torch.set_num_threads(1)

# A tiny, quick configuration of the whole loop on the small task.
TINY = ["env=inverted_pendulum", "steps=300", "training.start=100", "training.batch_size=32",
        "model.hidden_size=32", "evaluation.interval=150", "evaluation.episodes=2", "logging.interval=50",
        "checkpoint.interval=150", "logging.progress_bar=false", "logging.tensorboard=false", "device=cpu"]


def make_config(*overrides: str, config_name: str = "config") -> DictConfig:
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base=None):
        return compose(config_name=config_name, overrides=list(overrides))


@pytest.fixture
def tiny_config():
    return lambda *overrides: make_config(*TINY, *overrides)


def synthetic_episodes(count: int, length: int, obs_size: int = 4, action_size: int = 1, terminated_every: int = 2,
                       seed: int = 0) -> list[Episode]:
    """Episodes whose rewards encode (episode, step) as episode * 1000 + step; every `terminated_every`-th
    episode ends by termination, the others by a time-limit cut."""
    rng = np.random.default_rng(seed)
    episodes = []
    for index in range(count):
        obs = rng.normal(size=(length + 1, obs_size))
        terminated = index % terminated_every == 0
        episodes.append(Episode(obs=obs[:-1], action=rng.uniform(-1, 1, (length, action_size)).astype(np.float32),
                                reward=index * 1000.0 + np.arange(length), next_obs=obs[1:],
                                terminated=terminated, truncated=not terminated))
    return episodes


def write_d4rl_file(path: Path, episodes: list[Episode], trailing_partial: list[Episode] = (),
                    next_observations: bool = True) -> Path:
    """A D4RL-layout HDF5 file of `episodes`, then the rows of `trailing_partial` episodes with no end flag."""
    columns = {"observations": [], "actions": [], "rewards": [], "next_observations": [], "terminals": [],
               "timeouts": []}
    for episode, finished in [(ep, True) for ep in episodes] + [(ep, False) for ep in trailing_partial]:
        end = np.zeros(len(episode), bool)
        end[-1] = finished
        columns["observations"].append(episode.obs)
        columns["actions"].append(episode.action)
        columns["rewards"].append(episode.reward)
        columns["next_observations"].append(episode.next_obs)
        columns["terminals"].append(end & episode.terminated)
        columns["timeouts"].append(end & episode.truncated)
    with h5py.File(path, "w") as file:
        for key, parts in columns.items():
            if key != "next_observations" or next_observations:
                file.create_dataset(key, data=np.concatenate(parts))
    return path


def with_dataset(cfg: DictConfig, **dataset) -> DictConfig:
    with open_dict(cfg):
        for key, value in dataset.items():
            cfg.env.dataset[key] = value
    return cfg

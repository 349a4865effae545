"""Evaluation of the deterministic policy tanh(mu(s)) and normalisation of its returns."""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import gymnasium as gym
import numpy as np
import torch
from omegaconf import DictConfig

from data.expert import read_episodes
from data.transitions import RowLayout, Transitions
from errors import UserError

Policy = Callable[[np.ndarray], np.ndarray]


class Episodes(NamedTuple):
    returns: np.ndarray  # (episodes,) undiscounted true returns
    transitions: Transitions  # every transition of those episodes, with the true reward
    episode: torch.Tensor  # (rows,) the episode each transition belongs to


def evaluate(policy: Policy, envs: list[gym.Env], seed: int) -> Episodes:
    """One episode per env, stepping all envs in lockstep with batched actions: the undiscounted returns and
    every transition of those episodes.

    Each env is reset with seed + its index, so every evaluation of a run starts from the same states.
    """
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)
    returns = np.zeros(len(envs))
    running = np.ones(len(envs), dtype=bool)
    layout = RowLayout(obs.shape[1], envs[0].action_space.shape[0])
    rows, episode = [], []
    while running.any():
        active = np.flatnonzero(running)
        actions = policy(obs[active])
        for action, i in zip(actions, active):
            next_obs, reward, terminated, truncated, _ = envs[i].step(action)
            rows.append(np.concatenate([obs[i], action, [reward], next_obs, [terminated],
                                        [truncated and not terminated], [1.0], [0.0]]))
            episode.append(i)
            returns[i] += reward
            obs[i] = next_obs
            running[i] = not (terminated or truncated)
    return Episodes(returns, layout.split(torch.as_tensor(np.array(rows), dtype=torch.float32)),
                    torch.as_tensor(episode))


def normalised_score(episode_return, random_return: float, expert_return: float):
    """(R - R_random) / (R_expert - R_random): 0 for the random policy, 1 for the expert reference."""
    return (episode_return - random_return) / (expert_return - random_return)


def reference_returns(env_cfg: DictConfig, dataset_metadata: dict | None) -> tuple[float, float]:
    """(random, expert) returns from the env config, or, where it leaves them null, from the dataset metadata."""
    random, expert = env_cfg.reference_returns.random, env_cfg.reference_returns.expert
    if random is None or expert is None:
        metadata = dataset_metadata if dataset_metadata is not None else read_episodes(env_cfg.dataset).metadata
        random = metadata.get("ref_min_score") if random is None else random
        expert = metadata.get("ref_max_score") if expert is None else expert
    if random is None or expert is None:
        raise UserError(f"env={env_cfg.name} has no reference returns and its dataset metadata holds none; set "
                        f"env.reference_returns.random and env.reference_returns.expert")
    if expert <= random:
        raise UserError(f"env.reference_returns: expert ({expert}) must exceed random ({random})")
    return float(random), float(expert)

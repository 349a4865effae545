"""Expert demonstrations as preallocated transition rows: selection, subsampling, absorbing wrapping."""
from __future__ import annotations

import numpy as np
import torch
from gymnasium.spaces import Box
from omegaconf import DictConfig

from data.sources import DatasetError, Episode, EpisodeSet, read_d4rl_hdf5, read_minari
from data.transitions import RowLayout, Transitions
from envs.absorbing import absorbing_state, with_indicator
from envs.make import to_unit_actions


class ExpertData:
    """Expert transitions in one (N, width) tensor; `sample` gathers a batch with one indexing op."""

    def __init__(self, rows: torch.Tensor, layout: RowLayout, episode_returns: np.ndarray, state_only: bool,
                 metadata: dict):
        self.rows, self.layout = rows, layout
        self.episode_returns = episode_returns
        self.state_only = state_only  # expert actions are NaN: methods that need them refuse this mode
        self.metadata = metadata

    def __len__(self) -> int:
        return len(self.rows)

    def sample(self, batch_size: int) -> Transitions:
        return self.layout.split(self.rows[torch.randint(0, len(self.rows), (batch_size,), device=self.rows.device)])

    def all(self) -> Transitions:
        return self.layout.split(self.rows)


def read_episodes(dataset_cfg: DictConfig) -> EpisodeSet:
    """The episodes named by an env config's `dataset` node."""
    if dataset_cfg.source == "minari":
        return read_minari(dataset_cfg.id, bool(dataset_cfg.download))
    if dataset_cfg.source == "hdf5":
        return read_d4rl_hdf5(dataset_cfg.path)
    raise DatasetError(f"env.dataset.source={dataset_cfg.source} is unknown; use minari or hdf5")


def load_expert(env_cfg: DictConfig, imitation: DictConfig, obs_space: Box, action_space: Box, seed: int,
                device: torch.device) -> ExpertData:
    """Read, check and prepare the task's expert data as `imitation` asks (obs_space excludes the indicator)."""
    source = read_episodes(env_cfg.dataset)
    check_episodes(source, obs_space.shape[0], action_space.shape[0])
    rng = np.random.default_rng(seed)
    episodes = select_trajectories(source.episodes, imitation.trajectories, imitation.trajectory_selection, rng,
                                   source.description)
    layout = RowLayout(obs_space.shape[0] + int(imitation.absorbing), action_space.shape[0])
    rows = [episode_rows(ep, action_space, imitation.absorbing, imitation.subsample, rng) for ep in episodes]
    table = torch.as_tensor(np.concatenate(rows), dtype=torch.float32)
    if imitation.state_only:
        table[:, layout.columns["action"]] = torch.nan
    returns = np.array([float(np.sum(ep.reward)) for ep in episodes])
    return ExpertData(table.to(device), layout, returns, bool(imitation.state_only), source.metadata)


def check_episodes(source: EpisodeSet, obs_size: int, action_size: int) -> None:
    if not source.episodes:
        raise DatasetError(f"{source.description} holds no complete episode")
    first = source.episodes[0]
    if first.obs.shape[1] != obs_size or first.action.shape[1] != action_size:
        raise DatasetError(
            f"{source.description} has observation/action sizes {first.obs.shape[1]}/{first.action.shape[1]} but "
            f"the env has {obs_size}/{action_size}; use the dataset recorded on this env (same id and kwargs)")
    for index, episode in enumerate(source.episodes):
        values = (episode.obs, episode.action, episode.reward, episode.next_obs)
        if not all(np.isfinite(v).all() for v in values):
            raise DatasetError(f"{source.description} has NaN or infinite values in episode {index}; "
                               f"regenerate the dataset")


def select_trajectories(episodes: list[Episode], count: int, selection: str, rng: np.random.Generator,
                        description: str) -> list[Episode]:
    """`count` episodes (0 = all): the first ones, or a random subset drawn from the seeded `rng`."""
    if count > len(episodes):
        raise DatasetError(f"imitation.trajectories={count} but {description} holds {len(episodes)} episodes; "
                           f"ask for at most {len(episodes)} (0 = all)")
    if count == 0:
        return list(episodes)
    if selection == "first":
        return list(episodes[:count])
    return [episodes[i] for i in sorted(rng.choice(len(episodes), size=count, replace=False))]


def episode_rows(episode: Episode, action_space: Box, absorbing: bool, subsample: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Flat rows [s | a | r=0 | s' | d | u | w | step=0] of one episode, wrapped and subsampled.

    Expert rewards are zeroed so that no true reward can leak into an imitation method.
    """
    length = len(episode)
    obs, next_obs = episode.obs.astype(np.float32), episode.next_obs.astype(np.float32)
    action = to_unit_actions(episode.action, action_space)
    terminal = np.zeros(length, dtype=np.float32)
    terminal[-1] = float(episode.terminated)
    weight = np.ones(length, dtype=np.float32)
    if absorbing:
        obs, next_obs = with_indicator(obs), with_indicator(next_obs)
        if episode.terminated:
            obs, action, next_obs, terminal, weight = _wrap_termination(obs, action, next_obs, terminal, weight)
    keep = subsample_indices(len(obs), subsample, force_last_two=absorbing and episode.terminated, rng=rng)
    if absorbing and episode.terminated and subsample > 1:
        weight[-2:] = 1.0 / subsample  # they survive subsampling with probability 1 instead of 1/k
    timeout = np.zeros(len(obs), dtype=np.float32)
    timeout[-1] = float(episode.truncated and not episode.terminated)
    reward, step = np.zeros(len(obs), dtype=np.float32), np.zeros(len(obs), dtype=np.float32)
    columns = [obs, action, reward[:, None], next_obs, terminal[:, None], timeout[:, None], weight[:, None],
               step[:, None]]
    return np.concatenate(columns, axis=1)[keep]


def _wrap_termination(obs, action, next_obs, terminal, weight):
    """Final real row leads into the absorbing state (d=0); an absorbing self-loop row follows."""
    absorbing = absorbing_state(obs.shape[1])
    next_obs = next_obs.copy()
    next_obs[-1] = absorbing
    terminal = np.zeros(len(obs) + 1, dtype=np.float32)
    return (np.vstack([obs, absorbing]), np.vstack([action, np.zeros_like(action[:1])]),
            np.vstack([next_obs, absorbing]), terminal, np.append(weight, 1.0).astype(np.float32))


def subsample_indices(length: int, every: int, force_last_two: bool, rng: np.random.Generator) -> np.ndarray:
    """Rows o, o+k, o+2k, ... with o ~ U{0..k-1}; plus the last two rows when `force_last_two`."""
    if every == 1:
        return np.arange(length)
    keep = np.arange(int(rng.integers(every)), length, every)
    if force_last_two:
        keep = np.union1d(keep, [length - 2, length - 1])
    return keep

"""Readers for expert episodes: Minari datasets (shipped, local or downloaded) and D4RL-layout HDF5 files."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from errors import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATASETS = REPO_ROOT / "experts"


@dataclass
class Episode:
    """One recorded episode; actions are in the env's native units."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: bool
    truncated: bool

    def __len__(self) -> int:
        return len(self.action)


@dataclass
class EpisodeSet:
    episodes: list[Episode]
    metadata: dict = field(default_factory=dict)
    description: str = ""


class DatasetError(UserError):
    pass


def user_minari_root() -> Path:
    return Path(os.environ.get("MINARI_DATASETS_PATH", Path.home() / ".minari" / "datasets"))


def find_minari_dataset(dataset_id: str) -> Path | None:
    """The data folder of `dataset_id` in the shipped experts/ folder or the user's Minari folder."""
    for root in (SHIPPED_DATASETS, user_minari_root()):
        data = root / dataset_id / "data"
        if (data / "metadata.json").exists():
            return data
    return None


def read_minari(dataset_id: str, download: bool) -> EpisodeSet:
    data = find_minari_dataset(dataset_id)
    if data is None and download:
        data = _download_minari(dataset_id)
    if data is None:
        raise DatasetError(
            f"expert dataset '{dataset_id}' not found in {SHIPPED_DATASETS.name}/ or {user_minari_root()}; "
            f"make it with `python scripts/make_expert_data.py env=<task>`, or allow a download with "
            f"env.dataset.download=true")
    return _read_minari_folder(data)


def _download_minari(dataset_id: str) -> Path:
    try:
        import minari
        minari.load_dataset(dataset_id, download=True)
    except Exception as error:  # network, missing huggingface_hub, unknown id: all end the same way for the user
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatasetError(f"could not download Minari dataset '{dataset_id}' ({reason}); check the id and "
                           f"the network, or make the data with scripts/make_expert_data.py") from None
    return user_minari_root() / dataset_id / "data"


def _read_minari_folder(data: Path) -> EpisodeSet:
    metadata_file, main_file = data / "metadata.json", data / "main_data.hdf5"
    try:
        metadata = json.loads(metadata_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"{metadata_file} is not readable JSON ({error}); regenerate the dataset") from None
    with _open_hdf5(main_file) as file:
        try:
            names = sorted((name for name in file if name.startswith("episode_")), key=lambda n: int(n.split("_")[1]))
            episodes = [_minari_episode(file[name]) for name in names]
        except (KeyError, ValueError, OSError) as error:
            raise DatasetError(f"{main_file} is not a valid Minari episode file ({error}); regenerate it") from None
    return EpisodeSet(episodes, metadata, f"Minari dataset {metadata.get('dataset_id', data.parent.name)}")


def _minari_episode(group: h5py.Group) -> Episode:
    observations = group["observations"][()]
    terminations, truncations = group["terminations"][()], group["truncations"][()]
    return Episode(obs=observations[:-1], action=group["actions"][()], reward=group["rewards"][()],
                   next_obs=observations[1:], terminated=bool(terminations[-1]),
                   truncated=bool(truncations[-1]) and not bool(terminations[-1]))


def read_d4rl_hdf5(path: str | Path) -> EpisodeSet:
    """Flat arrays observations/actions/rewards/terminals/timeouts split at terminals | timeouts."""
    path = Path(path)
    with _open_hdf5(path) as file:
        missing = [key for key in ("observations", "actions", "rewards", "terminals", "timeouts") if key not in file]
        if missing:
            raise DatasetError(f"{path} lacks the D4RL keys {missing}; expected observations, actions, rewards, "
                               f"terminals, timeouts")
        arrays = {key: file[key][()] for key in ("observations", "actions", "rewards", "terminals", "timeouts")}
        next_obs = file["next_observations"][()] if "next_observations" in file else None
    return EpisodeSet(_split_flat(arrays, next_obs), {}, f"D4RL-layout file {path}")


def _split_flat(arrays: dict[str, np.ndarray], next_obs: np.ndarray | None) -> list[Episode]:
    terminals = arrays["terminals"].astype(bool).reshape(-1)
    timeouts = arrays["timeouts"].astype(bool).reshape(-1) & ~terminals
    ends = np.flatnonzero(terminals | timeouts)  # rows after the last end belong to a partial episode: dropped
    episodes, start = [], 0
    for end in ends:
        rows = slice(start, end + 1)
        obs = arrays["observations"][rows]
        if next_obs is not None:
            successor = next_obs[rows]
        elif terminals[end]:  # the successor of a terminal row is never bootstrapped from
            successor = np.concatenate([obs[1:], obs[-1:]])
        else:  # a timeout's successor is unknown without next_observations: drop that row
            obs, successor = obs[:-1], obs[1:]
            rows = slice(start, end)
        if len(obs):
            episodes.append(Episode(obs=obs, action=arrays["actions"][rows],
                                    reward=arrays["rewards"][rows].reshape(-1), next_obs=successor,
                                    terminated=bool(terminals[end]), truncated=bool(timeouts[end])))
        start = end + 1
    return episodes


def _open_hdf5(path: Path) -> h5py.File:
    if not path.exists():
        raise DatasetError(f"dataset file {path} does not exist; check env.dataset.path")
    try:
        return h5py.File(path, "r")
    except OSError:
        raise DatasetError(f"{path} is not a readable HDF5 file (corrupt or another format); "
                           f"re-download or regenerate it") from None

"""Recording policy rollouts and writing them as compact Minari datasets (HDF5, gzip, float32)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import h5py
import numpy as np

from data.sources import Episode

Policy = Callable[[np.ndarray], np.ndarray]


def record_episodes(policy: Policy, env: gym.Env, episodes: int, seed: int) -> list[Episode]:
    """Run `episodes` full episodes (reset seeds seed, seed+1, ...); `policy` maps one observation to an env action."""
    recorded = []
    for index in range(episodes):
        obs, _ = env.reset(seed=seed + index)
        observations, actions, rewards = [obs], [], []
        terminated = truncated = False
        while not (terminated or truncated):
            action = policy(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(reward)
        observations = np.asarray(observations)
        recorded.append(Episode(obs=observations[:-1], action=np.asarray(actions), reward=np.asarray(rewards),
                                next_obs=observations[1:], terminated=bool(terminated),
                                truncated=bool(truncated and not terminated)))
    return recorded


def write_minari_dataset(root: Path, dataset_id: str, episodes: list[Episode], env: gym.Env, *, seed: int,
                         random_return: float, description: str, extra_metadata: dict) -> Path:
    """Create `dataset_id` under the Minari root `root` (replacing it) and return its data folder.

    ref_max_score is the recorded episodes' mean return and ref_min_score the random policy's; extra_metadata
    is stored under the metadata key "generation".
    """
    import minari
    from minari.data_collector import EpisodeBuffer

    buffers = [EpisodeBuffer(id=i, seed=seed + i, observations=np.vstack([ep.obs, ep.next_obs[-1:]]),
                             actions=ep.action, rewards=list(ep.reward),
                             terminations=[False] * (len(ep) - 1) + [ep.terminated],
                             truncations=[False] * (len(ep) - 1) + [ep.truncated]) for i, ep in enumerate(episodes)]
    expert_return = float(np.mean([ep.reward.sum() for ep in episodes]))
    with tempfile.TemporaryDirectory() as scratch:
        previous = os.environ.get("MINARI_DATASETS_PATH")
        os.environ["MINARI_DATASETS_PATH"] = scratch  # Minari writes under its root; build aside, then move
        try:
            minari.create_dataset_from_buffers(
                dataset_id, buffers, env=env.spec, eval_env=env.spec, algorithm_name="SAC (this suite)",
                author="ilbench make_expert_data.py", author_email="none",
                code_permalink="scripts/make_expert_data.py", ref_min_score=random_return,
                ref_max_score=expert_return, description=description)
        finally:
            if previous is None:
                del os.environ["MINARI_DATASETS_PATH"]
            else:
                os.environ["MINARI_DATASETS_PATH"] = previous
        built = Path(scratch) / dataset_id
        _compress(built / "data" / "main_data.hdf5")
        metadata_file = built / "data" / "metadata.json"
        metadata = json.loads(metadata_file.read_text())
        metadata["generation"] = extra_metadata
        metadata_file.write_text(json.dumps(metadata, indent=1))
        target = root / dataset_id
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(built, target)
        for level in range(1, len(Path(dataset_id).parts)):  # Minari's namespace metadata files
            namespace = Path(*Path(dataset_id).parts[:level])
            for source in (Path(scratch) / namespace).glob("namespace_metadata.json"):
                shutil.copy(source, root / namespace / source.name)
    return target / "data"


def _compress(path: Path) -> None:
    """Rewrite an HDF5 file with float32 arrays, gzip and shuffle filters (readers decompress transparently)."""
    packed = path.with_suffix(".packed")
    with h5py.File(path, "r") as source, h5py.File(packed, "w") as target:
        target.attrs.update(source.attrs)

        def copy(name: str, item) -> None:
            if isinstance(item, h5py.Group):
                target.require_group(name).attrs.update(item.attrs)
                return
            data = item[()]
            if np.issubdtype(data.dtype, np.floating):
                data = data.astype(np.float32)
            if np.ndim(data) == 0:
                created = target.create_dataset(name, data=data)
            else:
                created = target.create_dataset(name, data=data, compression="gzip", compression_opts=9,
                                                shuffle=True)
            created.attrs.update(item.attrs)

        source.visititems(copy)
    os.replace(packed, path)

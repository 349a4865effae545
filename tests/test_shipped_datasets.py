"""Every dataset shipped under experts/ loads, fits its env, holds no NaN and matches its own metadata."""
from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from conftest import REPO_ROOT
from data.sources import read_minari

SHIPPED = sorted(path.parent.parent for path in (REPO_ROOT / "experts").glob("**/data/metadata.json"))


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda f: str(f.relative_to(REPO_ROOT / "experts")))
def test_shipped_dataset_is_consistent(folder):
    metadata = json.loads((folder / "data" / "metadata.json").read_text())
    generation = metadata["generation"]
    episodes = read_minari(metadata["dataset_id"], download=False).episodes
    env = gym.make(generation["env_id"], **generation["env_kwargs"])
    assert len(episodes) == metadata["total_episodes"]
    for episode in episodes:
        assert episode.obs.shape[1:] == env.observation_space.shape
        assert episode.action.shape[1:] == env.action_space.shape
        assert all(np.isfinite(a).all() for a in (episode.obs, episode.action, episode.reward, episode.next_obs))
    returns = [episode.reward.sum() for episode in episodes]
    assert np.mean(returns) == pytest.approx(generation["expert_return_mean"], rel=1e-4)
    assert np.std(returns) == pytest.approx(generation["expert_return_std"], abs=1e-3)
    assert metadata["ref_max_score"] == pytest.approx(generation["expert_return_mean"])
    assert metadata["ref_min_score"] == pytest.approx(generation["random_return_mean"])


def test_dataset_table_lists_every_shipped_dataset():
    from scripts.dataset_table import rows
    table = rows(REPO_ROOT / "experts")
    assert len(table) == 2 + len(SHIPPED) and len(SHIPPED) >= 1

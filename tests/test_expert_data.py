"""Expert-data loaders (Minari and D4RL HDF5, both made here), selection, subsampling, absorbing wrapping."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import synthetic_episodes, write_d4rl_file
from data.expert import episode_rows, load_expert, select_trajectories, subsample_indices
from data.sources import DatasetError, read_d4rl_hdf5, read_minari
from data.transitions import RowLayout
from data.writer import write_minari_dataset
from envs.absorbing import absorbing_state

OBS = gym.spaces.Box(-np.inf, np.inf, (4,))
ACTIONS = gym.spaces.Box(-3.0, 3.0, (1,), dtype=np.float32)


def imitation(**overrides):
    base = dict(trajectories=0, trajectory_selection="first", subsample=1, state_only=False, absorbing=False)
    return OmegaConf.create(base | overrides)


def env_config(**dataset):
    return OmegaConf.create({"name": "test", "dataset": {"source": "hdf5", "id": None, "path": None,
                                                         "download": False} | dataset})


def test_minari_dataset_written_and_read_back(tmp_path, monkeypatch):
    episodes = synthetic_episodes(3, 6)
    env = gym.make("InvertedPendulum-v5")
    write_minari_dataset(tmp_path, "test/pendulum/expert-v0", episodes, env, seed=0, random_return=1.0,
                         description="test", extra_metadata={"seed": 0})
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    loaded = read_minari("test/pendulum/expert-v0", download=False)
    assert len(loaded.episodes) == 3 and loaded.metadata["generation"] == {"seed": 0}
    assert loaded.metadata["ref_min_score"] == 1.0
    for original, read in zip(episodes, loaded.episodes):
        assert np.allclose(original.obs, read.obs, atol=1e-6) and np.allclose(original.action, read.action)
        assert np.allclose(original.next_obs, read.next_obs, atol=1e-6) and np.allclose(original.reward, read.reward)
        assert (original.terminated, original.truncated) == (read.terminated, read.truncated)


def test_d4rl_file_is_split_at_terminals_and_timeouts_and_drops_a_partial_episode(tmp_path):
    episodes = synthetic_episodes(3, 5)
    path = write_d4rl_file(tmp_path / "d4rl.hdf5", episodes, trailing_partial=synthetic_episodes(1, 4, seed=1))
    loaded = read_d4rl_hdf5(path).episodes
    assert [len(ep) for ep in loaded] == [5, 5, 5]
    assert [ep.terminated for ep in loaded] == [True, False, True]
    assert np.array_equal(loaded[1].reward, episodes[1].reward)


def test_d4rl_file_without_next_observations_drops_the_unknown_successor_of_a_timeout(tmp_path):
    episodes = synthetic_episodes(2, 5)
    loaded = read_d4rl_hdf5(write_d4rl_file(tmp_path / "d.hdf5", episodes, next_observations=False)).episodes
    assert [len(ep) for ep in loaded] == [5, 4]  # terminated episode kept whole, time-limited one loses its last row
    assert np.array_equal(loaded[1].next_obs, episodes[1].obs[1:5])


def test_trajectory_selection_first_and_seeded_random():
    episodes = synthetic_episodes(10, 3)
    first = select_trajectories(episodes, 3, "first", np.random.default_rng(0), "d")
    assert [ep.reward[0] for ep in first] == [0, 1000, 2000]
    pick = lambda seed: [ep.reward[0] for ep in select_trajectories(episodes, 4, "random", np.random.default_rng(seed), "d")]  # noqa: E731
    assert pick(1) == pick(1) and pick(1) != pick(2)
    assert len(select_trajectories(episodes, 0, "random", np.random.default_rng(0), "d")) == 10
    with pytest.raises(DatasetError, match="imitation.trajectories=11 .* holds 10"):
        select_trajectories(episodes, 11, "first", np.random.default_rng(0), "d")


def test_subsample_indices_keep_every_kth_row_from_an_offset_plus_the_last_two():
    rng = np.random.default_rng(3)
    keep = subsample_indices(10, 4, force_last_two=False, rng=rng)
    assert len(set(np.diff(keep))) == 1 and np.diff(keep)[0] == 4 and keep[0] < 4
    keep = subsample_indices(10, 4, force_last_two=True, rng=np.random.default_rng(3))
    assert 8 in keep and 9 in keep
    assert np.array_equal(subsample_indices(7, 1, force_last_two=True, rng=rng), np.arange(7))


def test_absorbing_wrapping_of_a_terminated_expert_episode():
    episode = synthetic_episodes(1, 5)[0]  # terminated
    layout = RowLayout(5, 1)
    rows = layout.split(torch.as_tensor(episode_rows(episode, ACTIONS, True, 1, np.random.default_rng(0))))
    s_abs = torch.as_tensor(absorbing_state(5))
    assert len(rows) == 6 and rows.obs[:5, -1].eq(0).all() and rows.terminal.eq(0).all()
    assert torch.equal(rows.next_obs[4], s_abs) and torch.equal(rows.obs[5], s_abs) and torch.equal(rows.next_obs[5], s_abs)
    assert rows.action[5].item() == 0 and rows.reward.eq(0).all()


def test_time_limited_expert_episode_is_not_wrapped_and_keeps_weights_one():
    episode = synthetic_episodes(2, 5)[1]  # truncated
    rows = RowLayout(5, 1).split(torch.as_tensor(episode_rows(episode, ACTIONS, True, 2, np.random.default_rng(0))))
    assert rows.next_obs[:, -1].eq(0).all() and rows.weight.eq(1).all() and len(rows) <= 3


def test_subsampled_terminated_episode_weights_its_last_two_rows_by_one_over_k():
    episode = synthetic_episodes(1, 9)[0]
    rows = RowLayout(5, 1).split(torch.as_tensor(episode_rows(episode, ACTIONS, True, 3, np.random.default_rng(0))))
    assert rows.obs[-1, -1] == 1 and torch.allclose(rows.weight[-2:], torch.tensor([1 / 3, 1 / 3]))


def test_load_expert_rescales_actions_zeroes_rewards_and_withholds_actions_when_state_only(tmp_path):
    episodes = synthetic_episodes(4, 5)
    episodes[0].action[:] = 3.0  # the env's upper bound maps to +1
    env_cfg = env_config(path=str(write_d4rl_file(tmp_path / "d.hdf5", episodes)))
    expert = load_expert(env_cfg, imitation(trajectories=2), OBS, ACTIONS, 0, torch.device("cpu"))
    batch = expert.all()
    assert len(expert) == 10 and batch.reward.eq(0).all() and torch.allclose(batch.action[:5], torch.ones(5, 1))
    assert np.array_equal(expert.episode_returns, [e.reward.sum() for e in episodes[:2]])
    hidden = load_expert(env_cfg, imitation(state_only=True), OBS, ACTIONS, 0, torch.device("cpu"))
    assert hidden.state_only and torch.isnan(hidden.all().action).all()


def test_dataset_errors_name_the_problem(tmp_path):
    device = torch.device("cpu")
    good = str(write_d4rl_file(tmp_path / "d.hdf5", synthetic_episodes(2, 5)))
    with pytest.raises(DatasetError, match="observation/action sizes 4/1 but the env has 6/1"):
        load_expert(env_config(path=good), imitation(), gym.spaces.Box(-1, 1, (6,)), ACTIONS, 0, device)
    with pytest.raises(DatasetError, match="does not exist"):
        load_expert(env_config(path=str(tmp_path / "missing.hdf5")), imitation(), OBS, ACTIONS, 0, device)
    (tmp_path / "corrupt.hdf5").write_bytes(b"not an hdf5 file")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        load_expert(env_config(path=str(tmp_path / "corrupt.hdf5")), imitation(), OBS, ACTIONS, 0, device)
    episodes = synthetic_episodes(2, 5)
    episodes[1].obs[2, 0] = np.nan
    nan_file = str(write_d4rl_file(tmp_path / "nan.hdf5", episodes))
    with pytest.raises(DatasetError, match="NaN"):
        load_expert(env_config(path=nan_file), imitation(), OBS, ACTIONS, 0, device)


def test_missing_minari_dataset_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    with pytest.raises(DatasetError, match="make_expert_data.py"):
        read_minari("nobody/none/expert-v0", download=False)

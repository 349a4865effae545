"""Every dataset shipped under experts/ loads, fits its env, holds no NaN, matches its own metadata, and its
expert policy replays to the return it states; each MuJoCo task's default is the sampled-action recording."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, make_config
from data.sources import read_minari
from training.evaluation import reference_returns

# Each MuJoCo task's default (sampled actions) and the mean-action recording of the same policy.
DEFAULT_AND_MEAN_ACTION = {"hopper": ("v1", "v0"), "halfcheetah": ("v1", "v0"), "walker2d": ("v1", "v0"),
                           "ant": ("v3", "v2")}
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
    assert generation["actions"] in ("deterministic", "sampled")
    assert (folder / "policy.pt").exists()


@pytest.mark.parametrize("task", list(DEFAULT_AND_MEAN_ACTION))
def test_each_task_defaults_to_its_sampled_action_dataset_recorded_from_the_mean_action_policy(task):
    versions = DEFAULT_AND_MEAN_ACTION[task]
    cfg = make_config(f"env={task}")
    assert cfg.env.dataset.id == f"ilbench/{task}/expert-{versions[0]}"
    sampled, mean = (read_minari(f"ilbench/{task}/expert-{version}", download=False) for version in versions)
    recorded, v0 = sampled.metadata["generation"], mean.metadata["generation"]
    assert len(sampled.episodes) == 25
    assert recorded["actions"] == "sampled" and v0["actions"] == "deterministic"
    assert recorded["policy_file"] == f"experts/ilbench/{task}/expert-{versions[1]}/policy.pt"
    assert "expert.actions=sampled" in recorded["command"] and recorded["seed"] == v0["seed"]
    assert recorded["random_return_mean"] == pytest.approx(v0["random_return_mean"])  # the same random reference
    assert recorded["expert_training_steps"] == v0["expert_training_steps"]
    policies = [torch.load(REPO_ROOT / f"experts/ilbench/{task}/expert-{v}/policy.pt") for v in versions]
    assert all(torch.equal(policies[0][key], policies[1][key]) for key in policies[1])
    # the normalisation reference follows the chosen dataset
    assert reference_returns(cfg.env, None)[1] == pytest.approx(recorded["expert_return_mean"])
    deterministic = make_config(f"env={task}", f"env.dataset.id=ilbench/{task}/expert-{versions[1]}")
    assert reference_returns(deterministic.env, None)[1] == pytest.approx(v0["expert_return_mean"])


def test_dataset_table_lists_every_shipped_dataset():
    from scripts.dataset_table import rows
    table = rows(REPO_ROOT / "experts")
    assert len(table) == 2 + len(SHIPPED) and len(SHIPPED) >= 1


def test_check_experts_replays_every_shipped_policy(tmp_path):
    result = subprocess.run([sys.executable, "scripts/check_experts.py", "--episodes", "2", "--output",
                             str(tmp_path / "check.md")], cwd=REPO_ROOT, capture_output=True, text=True,
                            env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in (tmp_path / "check.md").read_text().splitlines() if line.startswith("| `")]
    assert len(rows) == len(SHIPPED) and all(row.endswith("| pass |") for row in rows)


def test_check_experts_replays_only_the_datasets_asked_for(tmp_path):
    result = subprocess.run([sys.executable, "scripts/check_experts.py", "--episodes", "1", "--datasets",
                             "ilbench/inverted_pendulum/expert-v0", "--output", str(tmp_path / "check.md")],
                            cwd=REPO_ROOT, capture_output=True, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "check.md").read_text()
    assert "`python scripts/check_experts.py --episodes 1 --datasets ilbench/inverted_pendulum/expert-v0`" in text
    assert [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| `")] == [
        "| `ilbench/inverted_pendulum/expert-v0`"]


def test_check_experts_names_an_unknown_dataset_in_one_error_line():
    result = subprocess.run([sys.executable, "scripts/check_experts.py", "--datasets", "ilbench/hopper/expert-v9"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --datasets ilbench/hopper/expert-v9: no expert policy under ")
    assert "choose from ilbench/ant/expert-v0, " in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_experts_of_a_folder_without_policies_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, "scripts/check_experts.py", "--root", str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: no policy.pt under {tmp_path}; make the datasets with scripts/make_expert_data.py")


def test_check_experts_fails_a_policy_whose_return_differs_from_its_metadata(tmp_path):
    from scripts.check_experts import replay
    folder = tmp_path / "expert-v0"
    shutil.copytree(REPO_ROOT / "experts/ilbench/inverted_pendulum/expert-v0", folder)
    metadata_file = folder / "data" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["generation"]["expert_return_mean"] = 500.0
    metadata_file.write_text(json.dumps(metadata))
    result = replay(folder, episodes=1)
    assert result.returns.tolist() == [1000.0] and not result.passed


def test_dataset_table_of_a_folder_without_datasets_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, "scripts/dataset_table.py", "--root", str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: --root {tmp_path} holds no Minari dataset (no */data/metadata.json); give the folder the datasets "
        f"were written to, e.g. experts")

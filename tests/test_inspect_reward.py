"""scripts/inspect_reward.py: the learned reward of a saved run on expert and agent rows, read only."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import REPO_ROOT, TINY, make_config
from data.memory import ReplayMemory
from data.transitions import Transitions
from scripts.inspect_reward import absorbing_groups, expert_outranks, with_random_actions
from training.loop import train


def inspect(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/inspect_reward.py", *arguments], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=os.environ | {"PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"})


def digests(directory) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in directory.rglob("*")
            if path.is_file()}


@pytest.fixture(scope="module")
def gail_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("gail")
    train(make_config(*TINY, "algorithm=GAIL"), run_dir)
    return run_dir


def test_expert_outranks_counts_pairs_and_half_of_the_ties():
    # pairs (2,1) (2,2) (3,1) (3,2): 1 + 0.5 + 1 + 1 of 4
    assert expert_outranks(torch.tensor([2.0, 3.0]), torch.tensor([1.0, 2.0])) == pytest.approx(0.875)
    assert expert_outranks(torch.tensor([0.0]), torch.tensor([1.0, 2.0])) == 0.0


def test_reports_every_group_and_leaves_the_run_untouched(gail_run, tmp_path):
    before = digests(gail_run)
    result = inspect(str(gail_run), "--rows", "64", "--recent", "100", "--output", str(tmp_path / "table.md"))
    assert result.returncode == 0, result.stderr
    assert "GAIL on inverted_pendulum, seed 1: learned reward at the checkpoint of step 300" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| rows", "| expert", "| expert states, random actions",
                                                     "| agent, replayed", "| agent, last 100 steps",
                                                     "| agent, step into absorbing", "| agent, absorbing self-loop"]
    assert [row.split(" | ")[1] for row in rows[1:5]] == ["64", "64", "64", "64"]
    assert all(0.0 <= float(row.split(" | ")[-1].rstrip(" |")) <= 1.0 for row in rows[2:])
    assert (tmp_path / "table.md").read_text() in result.stdout
    assert digests(gail_run) == before


def test_inspects_a_run_whose_config_records_fewer_steps_than_its_checkpoint_holds(gail_run, tmp_path):
    # runs resumed with a larger `steps` before config.yaml was rewritten on resume: memory must fit the checkpoint
    run_dir = tmp_path / "resumed"
    shutil.copytree(gail_run, run_dir)
    config = OmegaConf.load(run_dir / "config.yaml")
    config.steps = 100
    OmegaConf.save(config, run_dir / "config.yaml")
    result = inspect(str(run_dir), "--rows", "64", "--recent", "100")
    assert result.returncode == 0, result.stderr
    assert "learned reward at the checkpoint of step 300" in result.stdout


def test_absorbing_groups_take_the_latest_terminations():
    memory = ReplayMemory(10, 2, 1, torch.device("cpu"))
    real, absorbing = np.array([0.5, 0.0]), np.array([0.0, 1.0])
    for step, (obs, next_obs) in enumerate([(real, real), (real, absorbing), (absorbing, absorbing),
                                            (real, absorbing), (absorbing, absorbing), (real, real)], start=1):
        memory.append(obs, np.zeros(1), 0.0, next_obs, False, False, step)

    def indicator(obs: torch.Tensor) -> torch.Tensor:  # SoftActorCritic.absorbing_flag with absorbing states on
        return obs[:, -1]

    groups = absorbing_groups(memory, 1, indicator)
    assert groups["agent, step into absorbing"].step.tolist() == [4.0]
    assert groups["agent, absorbing self-loop"].step.tolist() == [5.0]
    assert absorbing_groups(ReplayMemory(4, 2, 1, torch.device("cpu")), 1, indicator) == {}
    assert absorbing_groups(memory, 1, lambda obs: torch.zeros_like(obs[:, 0])) == {}  # absorbing states off


def test_random_actions_replace_every_action_but_the_absorbing_states_zero_action():
    obs = torch.tensor([[0.3, 0.0], [0.1, 0.0], [0.0, 1.0]])  # last column: the absorbing indicator
    action = torch.tensor([[5.0, 5.0], [5.0, 5.0], [0.0, 0.0]])
    zeros = torch.zeros(3)
    batch = Transitions(obs, action, zeros, obs, zeros, zeros, torch.ones(3))
    torch.manual_seed(0)
    randomised = with_random_actions(batch, lambda obs: obs[:, -1])
    assert randomised.action[2].tolist() == [0.0, 0.0]
    assert ((randomised.action[:2] >= -1) & (randomised.action[:2] <= 1)).all()
    assert torch.equal(randomised.obs, batch.obs) and torch.equal(randomised.next_obs, batch.next_obs)
    assert torch.equal(batch.action, action)  # the original batch is left as it was


@pytest.mark.parametrize("case, message", [
    ("empty", "holds no config.yaml and checkpoint.pt"),
    ("sqil", "has no learned reward to inspect"),
    ("rows", "must both be at least 2"),
    ("gmmil", "depends on the other rows scored with it"),
])
def test_refuses_what_it_cannot_inspect_in_one_line(case, message, gail_run, tmp_path):
    arguments = {"empty": [str(tmp_path)], "rows": [str(gail_run), "--rows", "1"]}.get(case)
    if case in ("sqil", "gmmil"):
        train(make_config(*TINY, f"algorithm={case.upper()}", "steps=150"), tmp_path)
        arguments = [str(tmp_path)]
    result = inspect(*arguments)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

"""The Ax sweeper plugin on a toy Hydra app with a known optimum: search, failures, resume, launchers."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO_ROOT

APP = REPO_ROOT / "tests" / "apps" / "quadratic.py"


def sweep(sweep_dir, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *arguments],
                          capture_output=True, text=True, timeout=300,
                          env=os.environ | {"PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"})


def trial_statuses(sweep_dir) -> list[str]:
    experiment = json.loads((sweep_dir / "ax_experiment.json").read_text())["experiment"]
    return [trial["status"]["name"] for trial in experiment["trials"].values()]


def test_sweep_finds_the_optimum_within_its_budget(tmp_path):
    result = sweep(tmp_path)
    assert result.returncode == 0, result.stderr
    best = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert best["trials"] == 12 and best["ax"]["y"] == "b" and abs(best["ax"]["x"] - 0.3) < 0.1
    assert sorted(int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()) == list(range(12))


def test_a_key_set_on_the_command_line_leaves_the_search_space_and_every_trial_uses_it(tmp_path):
    result = sweep(tmp_path, "x=0.7", "hydra.sweeper.ax_config.max_trials=2")  # y alone is left: a or b
    assert result.returncode == 0, result.stderr
    trial_overrides = [yaml.safe_load((tmp_path / str(job) / ".hydra" / "overrides.yaml").read_text())
                       for job in range(2)]
    assert all("x=0.7" in overrides and sum(o.startswith("x=") for o in overrides) == 1
               for overrides in trial_overrides)
    assert sorted(o for overrides in trial_overrides for o in overrides if o.startswith("y=")) == ["y=a", "y=b"]
    experiment = json.loads((tmp_path / "ax_experiment.json").read_text())["experiment"]
    assert "x" not in json.dumps(experiment["search_space"]["parameters"])


def test_crashing_and_nan_trials_are_marked_failed_and_the_sweep_goes_on(tmp_path):
    result = sweep(tmp_path, "x=interval(0.0,1.0)", "hydra.sweeper.ax_config.max_trials=16",
                   "hydra.sweeper.ax_config.client.random_seed=3",
                   "hydra.sweeper.ax_config.early_stop.max_epochs_without_improvement=100")
    assert result.returncode == 0, result.stderr
    statuses = trial_statuses(tmp_path)
    assert len(statuses) == 16 and "FAILED" in str(statuses) and "COMPLETED" in str(statuses)


def test_a_trial_stopped_by_a_user_error_is_marked_failed_and_the_sweep_goes_on(tmp_path):
    result = sweep(tmp_path, "x=interval(0.81,0.89)", "hydra.sweeper.ax_config.max_trials=3",
                   "hydra.sweeper.ax_config.early_stop.max_epochs_without_improvement=100")
    assert result.returncode == 0, result.stderr
    assert trial_statuses(tmp_path) == ["FAILED"] * 3
    assert result.stderr.count("error: x=0.8") == 3


def test_a_single_run_stopped_by_a_user_error_exits_with_one_line():
    result = subprocess.run([sys.executable, str(APP), "x=0.85"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip() == "error: x=0.85 is refused; use x <= 0.8"


def test_an_interrupted_sweep_resumes_from_its_saved_experiment(tmp_path):
    assert sweep(tmp_path, "hydra.sweeper.ax_config.max_trials=4").returncode == 0
    result = sweep(tmp_path, "hydra.sweeper.ax_config.max_trials=7")
    assert result.returncode == 0, result.stderr
    assert len(trial_statuses(tmp_path)) == 7
    assert sorted(int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()) == list(range(7))


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_batches_run_through_parallel_launchers(tmp_path, launcher):
    result = sweep(tmp_path, f"hydra/launcher={launcher}", "hydra.sweeper.max_batch_size=2",
                   "hydra.sweeper.ax_config.max_trials=4")
    assert result.returncode == 0, result.stderr
    assert len(trial_statuses(tmp_path)) == 4
    assert yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())["trials"] == 4


def test_command_line_sweep_expressions_become_ax_parameters(tmp_path):
    result = sweep(tmp_path, "x=tag(log,interval(0.05,0.9))", "y=choice(a,b)", "hydra.sweeper.ax_config.max_trials=3")
    assert result.returncode == 0, result.stderr
    parameters = json.loads((tmp_path / "ax_experiment.json").read_text())["experiment"]["search_space"]
    assert '"log_scale": true' in json.dumps(parameters).replace("True", "true")


def test_early_stopping_after_batches_without_improvement(tmp_path):
    result = sweep(tmp_path, "hydra.sweeper.ax_config.max_trials=40",
                   "hydra.sweeper.ax_config.early_stop.max_epochs_without_improvement=2")
    assert result.returncode == 0, result.stderr
    assert len(trial_statuses(tmp_path)) < 40


@pytest.mark.parametrize("arguments, message", [
    (["hydra.sweeper.ax_config.params.x.type=grid"], "params.x.type=grid is unknown; use range, choice or fixed"),
    (["hydra.sweeper.ax_config.params.x.bounds=[0.0,1.0]", "+hydra.sweeper.ax_config.params.x.log_scale=true"],
     "the search space is invalid"),
])
def test_an_invalid_search_space_is_one_error_line(tmp_path, arguments, message):
    result = sweep(tmp_path, *arguments)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and message in result.stderr

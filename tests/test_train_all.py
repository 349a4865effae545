"""train_all.py: one configuration on several tasks in parallel, aggregated."""
from __future__ import annotations

import json

import pytest
import yaml
from test_train_end_to_end import run_command

from conftest import TINY

TWO_TASKS = "tasks=[inverted_pendulum,hopper]"
SMALL = [a for a in TINY if not a.startswith("env=")] + ["steps=150", "evaluation.interval=150"]


@pytest.mark.parametrize("aggregate", ["min", "mean"])
def test_train_all_runs_every_task_and_aggregates(tmp_path, aggregate):
    result = run_command("algorithm=SAC", TWO_TASKS, f"aggregate={aggregate}", *SMALL, f"hydra.run.dir={tmp_path}",
                         script="train_all.py")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "result.json").read_text())
    per_task = [json.loads((tmp_path / task / "result.json").read_text())["score"]
                for task in ("inverted_pendulum", "hopper")]
    assert summary["scores"] == {"inverted_pendulum": per_task[0], "hopper": per_task[1]}
    expected = min(per_task) if aggregate == "min" else sum(per_task) / 2
    assert summary["score"] == pytest.approx(expected)
    assert json.loads((tmp_path / "hopper" / "result.json").read_text())["env"] == "hopper"


@pytest.mark.parametrize("arguments, message", [
    (["algorithm=SAC", "tasks=[inverted_pendulum,hoper]"], "unknown env 'hoper'"),
    (["algorithm=SAC", TWO_TASKS, "aggregate=median"], "aggregate=median is unknown; use min or mean"),
    (["algorithm=BC", TWO_TASKS, "imitation.trajectories=30"],
     "inverted_pendulum: imitation.trajectories=30 but Minari dataset"),
])
def test_train_all_errors_are_one_line(tmp_path, arguments, message):
    result = run_command(*arguments, *SMALL, "bc_pretraining.iterations=10",
                         f"hydra.run.dir={tmp_path}", script="train_all.py")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and message in result.stderr


@pytest.mark.parametrize("launcher", [["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                                      ["hydra/launcher=submitit_local"]], ids=["joblib", "submitit_local"])
def test_train_all_ax_sweep_under_parallel_launchers(tmp_path, launcher):
    result = run_command("-m", "algorithm=SAC", TWO_TASKS, *SMALL, "hydra.sweeper.ax_config.max_trials=2",
                         "hydra.sweeper.generation_method=random_search", *launcher,
                         "hydra.sweeper.max_batch_size=2", f"hydra.sweep.dir={tmp_path}", script="train_all.py")
    assert result.returncode == 0, result.stderr
    best = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert best["trials"] == 2 and "training.learning_rate" in best["ax"]
    for job in ("0", "1"):
        summary = json.loads((tmp_path / job / "result.json").read_text())
        assert set(summary["scores"]) == {"inverted_pendulum", "hopper"}


def test_an_ax_trial_of_train_all_scores_each_task_by_the_mean_over_its_seeds(tmp_path):
    result = run_command("-m", "algorithm=SAC", "tasks=[inverted_pendulum]", *SMALL, "seeds=[1,2]",
                         "hydra.sweeper.ax_config.max_trials=1", "hydra.sweeper.generation_method=random_search",
                         f"hydra.sweep.dir={tmp_path}", script="train_all.py")
    assert result.returncode == 0, result.stderr
    trial = json.loads((tmp_path / "0" / "result.json").read_text())
    task = json.loads((tmp_path / "0" / "inverted_pendulum" / "result.json").read_text())
    seeds = [json.loads((tmp_path / "0" / "inverted_pendulum" / f"seed_{s}" / "result.json").read_text())["score"]
             for s in (1, 2)]
    assert trial["scores"]["inverted_pendulum"] == task["score"] == pytest.approx(sum(seeds) / 2)
    assert task["scores"] == {"seed_1": seeds[0], "seed_2": seeds[1]}


def test_train_py_seed_sweep_with_the_joblib_launcher(tmp_path):
    result = run_command("-m", "algorithm=SAC", *TINY, "steps=150", "seed=1,2", "hydra/launcher=joblib",
                         "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert [json.loads((tmp_path / j / "result.json").read_text())["seed"] for j in ("0", "1")] == [1, 2]


def test_train_all_seed_sweep_with_the_basic_sweeper(tmp_path):
    result = run_command("-m", "sweep=seeds", "algorithm=SAC", "tasks=[inverted_pendulum]", *SMALL, "seed=1,2",
                         f"hydra.sweep.dir={tmp_path}", script="train_all.py")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["0", "1"]
    seeds = [json.loads((tmp_path / job / "inverted_pendulum" / "result.json").read_text())["seed"]
             for job in ("0", "1")]
    assert seeds == [1, 2] and not (tmp_path / "ax_experiment.json").exists()


def test_every_tasks_dataset_is_checked_before_any_task_runs(tmp_path):
    from scripts.benchmark_speed import synthetic_hopper_dataset
    dataset = synthetic_hopper_dataset(tmp_path / "hopper.hdf5", trajectories=2)
    result = run_command("algorithm=BC", "tasks=[hopper,inverted_pendulum]", *SMALL, "bc_pretraining.iterations=10",
                         "env.dataset.source=hdf5", f"env.dataset.path={dataset}", f"hydra.run.dir={tmp_path / 'run'}",
                         script="train_all.py")
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: inverted_pendulum: ")
    assert "observation/action sizes 11/3 but the env has 4/1" in result.stderr
    assert not (tmp_path / "run" / "hopper").exists()  # hopper, whose dataset fits, never started

"""The learning-benchmark table is read correctly from run directories."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO_ROOT
from scripts.benchmark_algorithms import (
    code_versions,
    run_directory,
    runs_table,
    score_at,
    table,
    unresumable_runs,
    versions_sentence,
)


def test_score_at_takes_the_last_evaluation_up_to_the_step_once_the_run_got_there():
    metrics = pd.DataFrame({"step": [50, 100, 100, 200], "eval_score": [None, 0.2, None, 0.6],
                            "reward_correlation": [None, 0.5, None, 0.9]})
    assert score_at(metrics, "eval_score", 150) == 0.2
    assert score_at(metrics, "reward_correlation", 200) == 0.9
    assert score_at(metrics, "eval_score", 300) is None
    assert score_at(pd.DataFrame({"step": [50], "critic_loss": [1.0]}), "eval_score", 0) is None  # not evaluated yet


def test_table_summarises_seeds_and_marks_missing_runs(tmp_path):
    for seed, score in ((1, 0.4), (2, 0.8)):
        run = run_directory(tmp_path, "LSIQ", "hopper", 5, seed)
        run.mkdir(parents=True)
        pd.DataFrame({"step": [100], "eval_score": [score]}).to_csv(run / "metrics.csv", index=False)
    text = table(tmp_path, ["LSIQ", "GAIL"], "hopper", 5, [1, 2, 3], [100])
    assert "| method | score @ 100 steps | reward corr. @ 100 steps | return corr. @ 100 steps |" in text
    assert "| LSIQ | 0.60 ± 0.20 (n=2) | – | – |" in text
    assert "| GAIL | – | – | – |" in text


def test_runs_table_says_how_far_each_run_got(tmp_path):
    finished = run_directory(tmp_path, "GAIL", "hopper", 5, 1)
    finished.mkdir(parents=True)
    pd.DataFrame({"step": [100, 150, 200, 300, 400], "eval_score": [0.2, None, 0.5, 0.7, 0.9]}).to_csv(
        finished / "metrics.csv", index=False)
    (finished / "result.json").write_text("{}")
    cut = run_directory(tmp_path, "GAIL", "hopper", 5, 2)
    cut.mkdir(parents=True)
    pd.DataFrame({"step": [100, 130], "eval_score": [0.1, None]}).to_csv(cut / "metrics.csv", index=False)
    starting = run_directory(tmp_path, "GAIL", "hopper", 5, 3)  # no evaluation yet, so no eval_score column
    starting.mkdir(parents=True)
    pd.DataFrame({"step": [50], "critic_loss": [1.0]}).to_csv(starting / "metrics.csv", index=False)
    text = runs_table(tmp_path, ["GAIL", "SQIL"], "hopper", 5, [1, 2, 3], [100, 400], steps=400)
    assert "| GAIL | 1 | 400 | 0.20 | 0.90 | 0.90 at 400 | 0.70 (3) |" in text
    assert "| GAIL | 2 | 130 (unfinished) | 0.10 | – | 0.10 at 100 | – |" in text
    assert "| GAIL | 3 | 50 (unfinished) | – | – | – | – |" in text
    assert "SQIL" not in text and len(text.splitlines()) == 5
    assert "| GAIL | 0.15 ± 0.05 (n=2) |" in table(tmp_path, ["GAIL"], "hopper", 5, [1, 2, 3], [100])


def test_code_versions_of_the_finished_runs(tmp_path):
    for seed, version in ((1, "abc123"), (2, "def456-dirty"), (3, "abc123")):
        run = run_directory(tmp_path, "GAIL", "hopper", 5, seed)
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"code_version": version}))
    run_directory(tmp_path, "GAIL", "hopper", 5, 4).mkdir(parents=True)  # still running: no result.json
    assert code_versions(tmp_path, ["GAIL", "SQIL"], "hopper", 5, [1, 2, 3, 4]) == ["abc123", "def456-dirty"]
    assert versions_sentence(["abc123", "def456-dirty"]).endswith("(git describe): abc123, def456-dirty.")
    assert versions_sentence([]).startswith("No run of this table has finished yet")


def test_benchmark_refuses_a_run_that_left_metrics_but_no_checkpoint_before_launching_any(tmp_path):
    stuck = run_directory(tmp_path, "GAIL", "hopper", 5, 2)
    stuck.mkdir(parents=True)
    (stuck / "metrics.csv").write_text("step,eval_score\n100,0.5\n")
    result = subprocess.run([sys.executable, "scripts/benchmark_algorithms.py", "--algorithms", "GAIL", "--seeds",
                             "1", "2", "--steps", "300", "--work-dir", str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: {stuck} left metrics but no checkpoint to resume; delete that "
                                     f"directory to run again from scratch")
    assert not run_directory(tmp_path, "GAIL", "hopper", 5, 1).exists()  # no run was started
    assert (stuck / "metrics.csv").read_text() == "step,eval_score\n100,0.5\n"


def test_unresumable_runs_are_those_with_metrics_and_neither_checkpoint_nor_finished_result(tmp_path):
    runs = {name: tmp_path / name for name in ("fresh", "cut", "stuck", "finished", "short")}
    for name, run in runs.items():
        run.mkdir()
        if name != "fresh":
            (run / "metrics.csv").write_text("step\n1\n")
    (runs["cut"] / "checkpoint.pt").write_bytes(b"")
    (runs["finished"] / "result.json").write_text(json.dumps({"steps": 300}))
    (runs["short"] / "result.json").write_text(json.dumps({"steps": 100}))
    assert unresumable_runs(list(runs.values()), steps=300) == [runs["stuck"], runs["short"]]


def test_interquartile_mean_and_its_bootstrap_interval():
    from scripts.print_plot_sweep_results import bootstrap_interval, interquartile_mean
    values = np.array([0.0, 1.0, 2.0, 3.0, 100.0, -50.0, 2.5, 1.5])
    assert interquartile_mean(values) == pytest.approx(np.mean([1.0, 1.5, 2.0, 2.5]))
    low, high = bootstrap_interval(values)
    assert low <= interquartile_mean(values) <= high


def test_print_plot_sweep_results_on_a_seed_sweep(tmp_path):
    from test_train_end_to_end import run_command

    from conftest import TINY
    assert run_command("-m", "algorithm=SAC", *TINY, "seed=1,2,3", f"hydra.sweep.dir={tmp_path}").returncode == 0
    result = run_command("--path", str(tmp_path), script="scripts/print_plot_sweep_results.py")
    assert result.returncode == 0, result.stderr
    assert "seeds: 3, IQM" in result.stdout and "best: job" in result.stdout
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "best_so_far.png").exists()
    assert (tmp_path / "score_vs_seed.png").exists()


def test_print_plot_sweep_results_refuses_a_directory_without_jobs(tmp_path):
    from test_train_end_to_end import run_command
    result = run_command("--path", str(tmp_path), script="scripts/print_plot_sweep_results.py")
    assert result.returncode != 0 and "holds no job directories" in result.stderr


@pytest.mark.parametrize("name, tracked", [("metrics.csv", True), ("result.json", True), ("config.yaml", True),
                                           ("checkpoint.pt", False), ("agent.pt", False), ("returns.png", False),
                                           ("tensorboard/events.out", False),
                                           (".hydra/config.yaml", False)])
def test_benchmark_runs_folder_tracks_only_metrics_results_and_configs(name, tracked):
    from scripts.benchmark_algorithms import DEFAULT_WORK_DIR
    path = run_directory(DEFAULT_WORK_DIR, "GAIL", "hopper", 5, 1) / name
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--quiet", str(path)], cwd=DEFAULT_WORK_DIR)
    assert ignored.returncode == (1 if tracked else 0)

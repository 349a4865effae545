"""The learning-benchmark table is read correctly from run directories."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from conftest import REPO_ROOT, TINY
from scripts.benchmark_algorithms import (
    DEFAULT_WORK_DIR,
    Benchmark,
    code_versions,
    headline_table,
    is_finished,
    launch,
    launch_group,
    runs_table,
    score_at,
    table,
    unresumable_runs,
    versions_sentence,
)
from training.command_line import compose_config
from training.run_directory import hold_run_directory


def hopper_benchmark(work_dir, algorithms, seeds, protocol="default") -> Benchmark:
    return Benchmark(work_dir, algorithms, "hopper", 5, seeds, protocol)


def run_script(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/benchmark_algorithms.py", *arguments], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_score_at_takes_the_last_evaluation_up_to_the_step_once_the_run_got_there():
    metrics = pd.DataFrame({"step": [50, 100, 100, 200], "eval_score": [None, 0.2, None, 0.6],
                            "reward_correlation": [None, 0.5, None, 0.9]})
    assert score_at(metrics, "eval_score", 150) == 0.2
    assert score_at(metrics, "reward_correlation", 200) == 0.9
    assert score_at(metrics, "eval_score", 300) is None
    assert score_at(pd.DataFrame({"step": [50], "critic_loss": [1.0]}), "eval_score", 0) is None  # not evaluated yet


def test_table_summarises_seeds_and_marks_missing_runs(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["LSIQ", "GAIL"], [1, 2, 3])
    for seed, score in ((1, 0.4), (2, 0.8)):
        run = benchmark.run_directory("LSIQ", seed)
        run.mkdir(parents=True)
        pd.DataFrame({"step": [100], "eval_score": [score]}).to_csv(run / "metrics.csv", index=False)
    text = table(benchmark, [100])
    assert "| method | score @ 100 steps | reward corr. @ 100 steps | return corr. @ 100 steps |" in text
    assert "| LSIQ | 0.60 ± 0.20 (n=2) | – | – |" in text
    assert "| GAIL | – | – | – |" in text


def test_runs_table_says_how_far_each_run_got(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL", "SQIL"], [1, 2, 3])
    finished = benchmark.run_directory("GAIL", 1)
    finished.mkdir(parents=True)
    pd.DataFrame({"step": [100, 150, 200, 300, 400], "eval_score": [0.2, None, 0.5, 0.7, 0.9]}).to_csv(
        finished / "metrics.csv", index=False)
    (finished / "result.json").write_text("{}")
    cut = benchmark.run_directory("GAIL", 2)
    cut.mkdir(parents=True)
    pd.DataFrame({"step": [100, 130], "eval_score": [0.1, None]}).to_csv(cut / "metrics.csv", index=False)
    starting = benchmark.run_directory("GAIL", 3)  # no evaluation yet, so no eval_score column
    starting.mkdir(parents=True)
    pd.DataFrame({"step": [50], "critic_loss": [1.0]}).to_csv(starting / "metrics.csv", index=False)
    pretraining = benchmark.run_directory("SQIL", 1)  # pre-training rows count up to step 0
    pretraining.mkdir(parents=True)
    pd.DataFrame({"step": [-300, -200], "pretraining_iteration": [100, 200]}).to_csv(
        pretraining / "metrics.csv", index=False)
    text = runs_table(benchmark, [100, 400], steps=400)
    assert "| GAIL | 1 | 400 | 0.20 | 0.90 | 0.90 at 400 | 0.70 (3) |" in text
    assert "| GAIL | 2 | 130 (unfinished) | 0.10 | – | 0.10 at 100 | – |" in text
    assert "| GAIL | 3 | 50 (unfinished) | – | – | – | – |" in text
    assert "| SQIL | 1 | 0 (pre-training iteration 200) (unfinished) | – | – | – | – |" in text
    assert len(text.splitlines()) == 6
    assert "| GAIL | 0.15 ± 0.05 (n=2) |" in table(hopper_benchmark(tmp_path, ["GAIL"], [1, 2, 3]), [100])


def write_run(run_dir, scores, steps, finished=True, tuned_for=None, dataset="ilbench/hopper/expert-v1"):
    """A hand-made run: one evaluation every 100 steps with the given scores."""
    run_dir.mkdir(parents=True)
    evaluation_steps = [100 * (i + 1) for i in range(len(scores))]
    pd.DataFrame({"step": evaluation_steps, "eval_score": scores}).to_csv(run_dir / "metrics.csv", index=False)
    if finished:
        (run_dir / "result.json").write_text(json.dumps({"steps": steps}))
    (run_dir / "config.yaml").write_text(yaml.safe_dump({
        "tuned_for": tuned_for, "imitation": {"trajectories": 5},
        "env": {"dataset": {"source": "minari", "id": dataset, "path": None}}}))


def test_the_preset_column_names_the_settings_a_run_changed_from_its_preset_today(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["LSIQ"], [1, 2])
    preset = compose_config("config", ["algorithm=LSIQ", "env=hopper", "imitation.trajectories=5"])
    for seed, form in ((1, "iq_like"), (2, "sqil_like")):
        run_dir = benchmark.run_directory("LSIQ", seed)
        write_run(run_dir, [0.5] * 3, 300)
        config = OmegaConf.to_container(preset, resolve=True)
        config["algorithm"]["form"] = form
        config["evaluation"]["stochastic"] = True  # an extra readout, not a learning setting
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    row = headline_table(benchmark, steps=300).splitlines()[2]
    assert row.split(" | ")[1] == "default, default with `algorithm.form=sqil_like`"


def iqm_and_interval(cell: str) -> tuple[float, float, float]:
    value, interval = cell.split(" [")
    low, high = interval.rstrip("]").split(", ")
    return float(value), float(low), float(high)


def test_headline_table_gives_the_iqm_over_finished_seeds_of_the_final_and_the_mean_score(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL", "SQIL", "RED"], [1, 2, 3, 4, 5])
    # final score: mean of the last 3 evaluations up to step 500; mean: over all evaluations up to 500
    write_run(benchmark.run_directory("GAIL", 1), [0.0, 0.0, 0.2, 0.2, 0.2], 500)  # final 0.2, mean 0.12
    write_run(benchmark.run_directory("GAIL", 2), [0.0, 0.2, 0.4, 0.4, 0.4], 500)  # final 0.4, mean 0.28
    write_run(benchmark.run_directory("GAIL", 3), [0.2, 0.4, 0.6, 0.6, 0.6], 500)  # final 0.6, mean 0.48
    write_run(benchmark.run_directory("GAIL", 4), [1.0, 1.0, 1.0, 1.0, 1.0, 0.0], 600)  # step 600 is past 500
    write_run(benchmark.run_directory("GAIL", 5), [0.9, 0.9], 500, finished=False)  # left out: unfinished
    for seed in (1, 2):
        write_run(benchmark.run_directory("SQIL", seed), [0.3] * 5, 500, dataset="ilbench/hopper/expert-v0")
    rows = {row.split(" | ")[0].strip("| "): row.split(" | ") for row in
            headline_table(benchmark, steps=500).splitlines()[2:]}
    assert rows["GAIL"][1:4] == ["default", "`ilbench/hopper/expert-v1`", "4 of 5"]
    final, low, high = iqm_and_interval(rows["GAIL"][4])
    assert final == 0.5 and 0.2 <= low <= final <= high <= 1.0  # IQM of 0.2, 0.4, 0.6, 1.0: mean of 0.4, 0.6
    mean, low, high = iqm_and_interval(rows["GAIL"][5].rstrip(" |"))
    assert mean == 0.38 and 0.12 <= low <= mean <= high <= 1.0  # IQM of 0.12, 0.28, 0.48, 1.0
    assert rows["SQIL"] == ["| SQIL", "default", "`ilbench/hopper/expert-v0`", "2 of 5", "0.30 [0.30, 0.30]",
                            "0.30 [0.30, 0.30] |"]
    assert rows["RED"] == ["| RED", "–", "–", "0 of 5", "–", "– |"]


def test_learning_curve_is_the_iqm_over_runs_at_the_steps_every_run_has(tmp_path):
    from scripts.benchmark_algorithms import learning_curve
    benchmark = hopper_benchmark(tmp_path, ["GAIL"], [1, 2, 3, 4])
    for seed, scores in zip((1, 2, 3, 4), ([0.0, 0.4], [0.2, 0.4], [0.4, 0.4], [1.0, 0.4])):
        write_run(benchmark.run_directory("GAIL", seed), scores, 200)
    steps, estimates = learning_curve([benchmark.run_directory("GAIL", seed) for seed in (1, 2, 3, 4)], 200)
    assert steps.tolist() == [100, 200]
    assert [round(e.value, 6) for e in estimates] == [0.3, 0.4]  # IQM of 0, 0.2, 0.4, 1: mean of 0.2 and 0.4
    assert estimates[1].low == estimates[1].high == 0.4


def test_the_figure_shows_the_finished_runs_and_refuses_when_none_finished(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL", "RED"], [1, 2])
    for seed in (1, 2):
        write_run(benchmark.run_directory("GAIL", seed), [0.1, 0.5, 0.9], 300)
    result = run_script("--algorithms", "GAIL", "RED", "--seeds", "1", "2", "--steps", "300", "--work-dir",
                        str(tmp_path), "--table-only", "--figure", str(tmp_path / "figure.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    result = run_script("--algorithms", "RED", "--seeds", "1", "--steps", "300", "--work-dir", str(tmp_path),
                        "--table-only", "--figure", str(tmp_path / "none.png"))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no run of RED has finished 300 steps: nothing to plot"


def test_published_protocol_applies_the_tuned_preset_where_one_exists_and_the_table_says_which(tmp_path,
                                                                                              monkeypatch):
    benchmark = hopper_benchmark(tmp_path, ["GAIL", "SQIL"], [1], "published")
    assert benchmark.preset("GAIL") == "GAIL_5_trajectories" and benchmark.preset("SQIL") is None
    assert benchmark.run_directory("GAIL", 1).parent.name == "GAIL_hopper_5traj_tuned"
    assert benchmark.run_directory("SQIL", 1).parent.name == "SQIL_hopper_5traj"  # the default runs serve
    assert hopper_benchmark(tmp_path, ["GAIL"], [1]).preset("GAIL") is None
    launched = []
    monkeypatch.setattr(subprocess, "call", lambda command, **options: launched.append(command) or 0)
    for algorithm in ("GAIL", "SQIL"):
        launch(benchmark, algorithm, 1, 500, ["training.batch_size=64"], threads=1)
    assert "optimised_hyperparameters=GAIL_5_trajectories" in launched[0]
    assert not any(a.startswith("optimised_hyperparameters=") for a in launched[1])
    assert launched[0][-2:] == ["training.batch_size=64", "logging.progress_bar=false"]
    write_run(benchmark.run_directory("GAIL", 1), [0.5] * 3, 300, tuned_for="GAIL")
    write_run(benchmark.run_directory("SQIL", 1), [0.5] * 3, 300)
    text = headline_table(benchmark, steps=300)
    assert "| GAIL | GAIL_5_trajectories | " in text
    assert "| SQIL | default (no tuned SQIL preset for 5 trajectories) | " in text


@pytest.mark.parametrize("arguments, message", [
    (["--protocol", "tuned"], "error: argument --protocol: invalid choice: 'tuned' (choose from "),
    (["--protcol", "published"], "error: unrecognized arguments: --protcol published"),
    (["--protocol", "published", "--", "optimised_hyperparameters=GAIL_5_trajectories"],
     "error: --protocol published chooses each method's optimised_hyperparameters preset; drop "
     "optimised_hyperparameters= from the arguments after --, or use --protocol default"),
])
def test_benchmark_errors_end_in_one_line_and_status_2(tmp_path, arguments, message):
    result = run_script("--algorithms", "GAIL", "--work-dir", str(tmp_path), "--table-only", *arguments)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith(message)
    assert not any(tmp_path.iterdir())


def test_committed_hopper_table_is_what_its_command_makes_from_the_committed_runs(tmp_path):
    committed = (REPO_ROOT / "results" / "hopper_5traj.md").read_text()
    command = next(line.strip() for line in committed.splitlines() if line.startswith("    python "))
    arguments = command.split()[2:]
    arguments[arguments.index("--output") + 1] = str(tmp_path / "table.md")
    arguments[arguments.index("--figure") + 1] = str(tmp_path / "figure.png")
    result = run_script(*arguments)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    regenerated = (tmp_path / "table.md").read_text()
    first_table = "\n| method |"
    assert regenerated[regenerated.index(first_table):] == committed[committed.index(first_table):]


def test_code_versions_of_the_finished_runs(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL", "SQIL"], [1, 2, 3, 4])
    for seed, version in ((1, "abc123"), (2, "def456-dirty"), (3, "abc123")):
        run = benchmark.run_directory("GAIL", seed)
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({"code_version": version}))
    benchmark.run_directory("GAIL", 4).mkdir(parents=True)  # still running: no result.json
    assert code_versions(benchmark) == ["abc123", "def456-dirty"]
    assert versions_sentence(["abc123", "def456-dirty"]).endswith("(git describe): abc123, def456-dirty.")
    assert versions_sentence([]).startswith("No run of this table has finished yet")


def test_benchmark_refuses_a_run_that_left_metrics_but_no_checkpoint_before_launching_any(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL"], [1, 2])
    stuck = benchmark.run_directory("GAIL", 2)
    stuck.mkdir(parents=True)
    (stuck / "metrics.csv").write_text("step,eval_score\n100,0.5\n")
    result = run_script("--algorithms", "GAIL", "--seeds", "1", "2", "--steps", "300", "--work-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {stuck} left metrics but no checkpoint to resume; delete that "
                                     f"directory to run again from scratch")
    assert not benchmark.run_directory("GAIL", 1).exists()  # no run was started
    assert (stuck / "metrics.csv").read_text() == "step,eval_score\n100,0.5\n"


@pytest.mark.parametrize("saved, extra, message", [
    ({"env": {"dataset": {"id": "ilbench/hopper/expert-v0"}}}, [],
     "was made with env.dataset.id=ilbench/hopper/expert-v0, not ilbench/hopper/expert-v1"),
    ({"env": {"dataset": {"id": "ilbench/hopper/expert-v1"}}, "imitation": {"absorbing_bootstrap": "exact"}},
     ["--", "imitation.absorbing_bootstrap=reference"],
     "was made with imitation.absorbing_bootstrap=exact, not reference"),
    ({"env": {"dataset": {"id": "ilbench/hopper/expert-v1"}}, "model": {"hidden_size": 64}}, [],
     "was made with model.hidden_size=64, not 256"),  # a default that has changed since
])
def test_benchmark_refuses_to_reuse_a_run_made_with_another_dataset_or_setting(tmp_path, saved, extra, message):
    finished = hopper_benchmark(tmp_path, ["GAIL"], [1]).run_directory("GAIL", 1)
    finished.mkdir(parents=True)
    (finished / "config.yaml").write_text(yaml.safe_dump(saved))
    (finished / "result.json").write_text(json.dumps({"steps": 300}))
    result = run_script("--algorithms", "GAIL", "--seeds", "1", "--steps", "300", "--work-dir", str(tmp_path), *extra)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {finished} {message}; give another --work-dir for these runs"


def test_a_method_that_takes_no_environment_steps_is_finished_once_it_wrote_its_result(tmp_path):
    for name, algorithm_class in (("BC", "algorithms.bc.BC"), ("GAIL", "algorithms.adversarial.AdversarialImitation")):
        write_run(tmp_path / name, [1.0], 0)
        (tmp_path / name / "config.yaml").write_text(yaml.safe_dump({"algorithm": {"class": algorithm_class}}))
    assert is_finished(tmp_path / "BC", 300000) and not is_finished(tmp_path / "GAIL", 300000)


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


def test_interquartile_mean_and_its_stratified_bootstrap_interval():
    from training.aggregate import interquartile_mean, iqm_with_interval
    values = np.array([0.0, 1.0, 2.0, 3.0, 100.0, -50.0, 2.5, 1.5])
    assert interquartile_mean(values) == pytest.approx(np.mean([1.0, 1.5, 2.0, 2.5]))
    estimate = iqm_with_interval(values)
    assert estimate.value == interquartile_mean(values) and estimate.low <= estimate.value <= estimate.high
    assert str(iqm_with_interval(np.array([0.3, 0.3]))) == "0.30 [0.30, 0.30]"
    # stratified: runs are resampled within each task, so no resample loses either task
    two_tasks = np.array([[0.0, 10.0], [0.0, 10.0], [1.0, 11.0]])
    estimate = iqm_with_interval(two_tasks)
    assert estimate.value == pytest.approx(np.mean([0.0, 1.0, 10.0, 10.0]))
    assert 5.0 <= estimate.low <= estimate.high <= 6.0


def test_print_plot_sweep_results_on_a_seed_sweep(tmp_path):
    from test_train_end_to_end import run_command

    from conftest import TINY
    assert run_command("-m", "algorithm=SAC", *TINY, "seed=1,2,3", f"hydra.sweep.dir={tmp_path}").returncode == 0
    result = run_command("--path", str(tmp_path), script="scripts/print_plot_sweep_results.py")
    assert result.returncode == 0, result.stderr
    assert "seeds: 3, IQM" in result.stdout and "best: job" in result.stdout
    assert (tmp_path / "learning_curve.png").exists() and (tmp_path / "best_so_far.png").exists()
    assert (tmp_path / "score_vs_seed.png").exists()


def test_print_plot_sweep_results_reads_the_seeds_of_a_seed_group_as_a_seed_sweep(tmp_path):
    from test_train_end_to_end import run_command

    from conftest import TINY
    assert run_command(*TINY, "steps=150", "seeds=[1,2,3]", f"hydra.run.dir={tmp_path}").returncode == 0
    result = run_command("--path", str(tmp_path), script="scripts/print_plot_sweep_results.py")
    assert result.returncode == 0, result.stderr
    assert "seeds: 3, IQM" in result.stdout and (tmp_path / "learning_curve.png").exists()


def test_print_plot_sweep_results_refuses_a_directory_without_jobs(tmp_path):
    from test_train_end_to_end import run_command
    result = run_command("--path", str(tmp_path), script="scripts/print_plot_sweep_results.py")
    assert result.returncode != 0 and "holds no job directories" in result.stderr


@pytest.mark.parametrize("name, tracked", [("metrics.csv", True), ("result.json", True), ("config.yaml", True),
                                           ("checkpoint.pt", False), ("agent.pt", False), ("returns.png", False),
                                           ("tensorboard/events.out", False),
                                           (".hydra/config.yaml", False), (".train.lock", False)])
def test_benchmark_runs_folder_tracks_only_metrics_results_and_configs(name, tracked):
    path = hopper_benchmark(DEFAULT_WORK_DIR, ["GAIL"], [1], "published").run_directory("GAIL", 1) / name
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--quiet", str(path)], cwd=DEFAULT_WORK_DIR)
    assert ignored.returncode == (1 if tracked else 0)


def test_profile_update_reports_where_the_time_of_a_step_goes(tmp_path):
    result = subprocess.run([sys.executable, "scripts/profile_update.py", "--output", str(tmp_path / "profile.md")],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "profile.md").read_text()
    for row in ("| one update (wall) |", "dense products (profiler, self time)", "| one MuJoCo step |",
                "| one evaluation (30 episodes of 1000 steps) |"):
        assert row in table
    assert "precision fp32, eager losses, device cpu, 1 torch thread(s)" in table


def test_group_trains_each_methods_seeds_in_one_process_into_the_usual_seed_folders(tmp_path):
    small = [a for a in TINY if not a.startswith("env=")] + ["steps=150", "evaluation.interval=150"]
    arguments = ["--algorithms", "SAC", "--env", "inverted_pendulum", "--seeds", "1", "2", "--steps", "150",
                 "--report-at", "150", "--group", "--work-dir", str(tmp_path), "--", *small]
    result = run_script(*arguments)
    assert result.returncode == 0, result.stderr
    group = tmp_path / "SAC_inverted_pendulum_5traj"
    assert set(json.loads((group / "result.json").read_text())["scores"]) == {"seed_1", "seed_2"}
    assert [json.loads((group / f"seed_{s}" / "result.json").read_text())["seed"] for s in (1, 2)] == [1, 2]
    assert "| SAC | 2 | 150 |" in result.stdout  # the runs table reads the group's seeds as it reads single runs
    launched = (group / "group.log").read_text()
    assert run_script(*arguments).returncode == 0 and (group / "group.log").read_text() == launched  # all finished


def test_group_resumes_the_group_that_holds_the_unfinished_seeds(tmp_path, monkeypatch):
    benchmark = hopper_benchmark(tmp_path, ["GAIL"], [1, 2])
    group = benchmark.run_directory("GAIL", 1).parent
    (group / ".hydra").mkdir(parents=True)
    (group / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["algorithm=GAIL", "seeds=[1,2]"]))
    for seed in (1, 2):
        benchmark.run_directory("GAIL", seed).mkdir()
        (benchmark.run_directory("GAIL", seed) / "checkpoint.pt").write_bytes(b"")
    launched = []
    monkeypatch.setattr(subprocess, "call", lambda command, **options: launched.append(command) or 0)
    launch_group(benchmark, "GAIL", 500, [], threads=1)
    assert launched[0][2:4] == [f"resume={group}", "steps=500"]
    (benchmark.run_directory("GAIL", 2) / "checkpoint.pt").unlink()  # seed 2 never saved one: a fresh group
    launch_group(benchmark, "GAIL", 500, [], threads=1)
    assert "seeds=[1,2]" in launched[1] and f"hydra.run.dir={group}" in launched[1]


def test_runs_another_process_is_training_are_left_to_it(tmp_path, monkeypatch, capsys):
    benchmark = hopper_benchmark(tmp_path, ["GAIL"], [1, 2])
    for seed in (1, 2):
        benchmark.run_directory("GAIL", seed).mkdir(parents=True)
    held = hold_run_directory(benchmark.run_directory("GAIL", 1))
    launched = []
    monkeypatch.setattr(subprocess, "call", lambda command, **options: launched.append(command) or 0)
    assert launch(benchmark, "GAIL", 1, 500, [], threads=1) == 0
    assert launch_group(benchmark, "GAIL", 500, [], threads=1) == 0
    assert launched == []
    assert capsys.readouterr().out == f"{benchmark.run_directory('GAIL', 1)} is being trained by another process; " \
                                      f"left to it\n" * 2
    launch(benchmark, "GAIL", 2, 500, [], threads=1)
    (benchmark.run_directory("GAIL", 1) / "metrics.csv").write_text("step\n100\n")  # before its first checkpoint
    assert unresumable_runs([benchmark.run_directory("GAIL", 1)], 500) == []
    held.close()
    assert unresumable_runs([benchmark.run_directory("GAIL", 1)], 500) == [benchmark.run_directory("GAIL", 1)]
    (benchmark.run_directory("GAIL", 1) / "metrics.csv").unlink()
    launch(benchmark, "GAIL", 1, 500, [], threads=1)
    assert ["seed=2" in command for command in launched] == [True, False]


def test_group_refuses_seeds_started_outside_it(tmp_path):
    benchmark = hopper_benchmark(tmp_path, ["GAIL"], [1, 2])
    started = benchmark.run_directory("GAIL", 2)
    started.mkdir(parents=True)
    (started / "metrics.csv").write_text("step,eval_score\n100,0.5\n")
    (started / "checkpoint.pt").write_bytes(b"")
    result = run_script("--algorithms", "GAIL", "--seeds", "1", "2", "--steps", "300", "--group", "--work-dir",
                        str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: GAIL seeds [2] were started outside a group of seeds [1, 2]; finish "
                                     "them without --group")


def test_seed_batching_probe_times_separate_and_batched_seeds():
    result = subprocess.run([sys.executable, "scripts/probe_seed_batching.py", "--seeds", "1", "2", "--repeats", "1"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "one seed: " in result.stdout and "2 seeds batched: " in result.stdout and "speed-up" in result.stdout

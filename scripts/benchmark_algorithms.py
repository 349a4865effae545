"""Learning benchmark: normalised scores of methods over seeds, as markdown tables.

    python scripts/benchmark_algorithms.py --algorithms LSIQ IQLearn --env hopper --trajectories 5 \\
        --seeds 1 2 3 --steps 300000 --report-at 100000 300000 --output results/lsiq_iqlearn_hopper.md

Each (method, seed) is one `train.py` run in <work-dir>/<ALG>_<ENV>_<N>traj/seed_<S> (<ALG>_<ENV>_<N>traj_tuned
with a tuned preset); a run that was cut off is resumed from its checkpoint, a finished one is reused and one that
another process is training is left to it, so the command can simply be repeated until the table is complete. Runs
go one after another unless --parallel says otherwise; with --group, each method's unfinished seeds train in one
process (train.py seeds=[...], run directory <work-dir>/<ALG>_<ENV>_<N>traj, so the seed folders are the same).
Extra `key=value` arguments after `--` go to every run. --protocol published applies each method's tuned preset
for the trajectory count (conf/optimised_hyperparameters/<ALG>_<N>_trajectories.yaml) where one exists, as the
Pragmatic Look suite's published results did; --protocol default (the default) uses none.

The headline table reports, per method and over its finished runs, the interquartile mean (IQM) with a 95%
stratified-bootstrap confidence interval (training/aggregate.py, after rliable) of the final score (the mean
of the last 3 evaluations up to --steps) and of the mean score over all evaluations up to --steps (the
Pragmatic Look suite's score), with the preset and dataset its runs used, read from their config.yaml. A
second table gives, per report step, the mean +- std over seeds of the evaluation score at the last evaluation
at or before that step and the same for the learned reward's correlations with the true one (per transition
and per episode return) where the method has a reward model; a third, every run. In the default work dir,
results/runs/, git tracks only each run's metrics.csv, result.json and config.yaml: finished runs can be
committed, and a table completed over several machines, while checkpoints stay local.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from algorithms import algorithm_class
from errors import UserError, exit_on_user_error
from training.aggregate import Estimate, iqm_with_interval
from training.command_line import compose_config
from training.config import differing_settings, learning_settings
from training.run_directory import in_use

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_WORK_DIR = REPO_ROOT / "results" / "runs"  # only metrics, results and configs are tracked there
PRESETS_DIR = REPO_ROOT / "conf" / "optimised_hyperparameters"
PROTOCOLS = ("default", "published")
FINAL_EVALUATIONS = 3  # the final score is the mean of this many last evaluations
COLUMNS = {"eval_score": "score", "reward_correlation": "reward corr.", "return_correlation": "return corr."}


def preset_name(algorithm: str, trajectories: int) -> str:
    return f"{algorithm}_{trajectories}_trajectories"


@dataclass(frozen=True)
class Benchmark:
    """The runs one table summarises: methods x seeds on one task and trajectory count, under one protocol."""

    work_dir: Path
    algorithms: list[str]
    env: str
    trajectories: int
    seeds: list[int]
    protocol: str = "default"

    def preset(self, algorithm: str) -> str | None:
        """The tuned preset the protocol applies to `algorithm`: with `published`, the one for this trajectory
        count where it exists; otherwise none."""
        name = preset_name(algorithm, self.trajectories)
        return name if self.protocol == "published" and (PRESETS_DIR / f"{name}.yaml").exists() else None

    def run_directory(self, algorithm: str, seed: int) -> Path:
        """Runs with a tuned preset live apart from the default ones, so that neither is reused as the other."""
        suffix = "_tuned" if self.preset(algorithm) else ""
        return self.work_dir / f"{algorithm}_{self.env}_{self.trajectories}traj{suffix}" / f"seed_{seed}"


def is_finished(run_dir: Path, steps: int) -> bool:
    """A run that wrote its result after `steps` environment steps, or at all for a method that takes none (BC)."""
    result = run_dir / "result.json"
    if not result.exists():
        return False
    config = run_config(run_dir)
    takes_steps = "algorithm" not in config or algorithm_class(config["algorithm"]["class"]).interacts_with_env
    return json.loads(result.read_text())["steps"] >= steps or not takes_steps


def unresumable_runs(run_dirs: list[Path], steps: int) -> list[Path]:
    """Runs that left metrics but neither a checkpoint to resume nor a finished result: they cannot be continued,
    and starting them again would overwrite their metrics. A run another process is training (it may not have
    saved its first checkpoint yet) is not one of them."""
    return [run_dir for run_dir in run_dirs if (run_dir / "metrics.csv").exists()
            and not (run_dir / "checkpoint.pt").exists() and not is_finished(run_dir, steps) and not in_use(run_dir)]


def preset_overrides(algorithm: str, preset: str | None, env: str, trajectories: int) -> list[str]:
    """The train.py overrides that compose `algorithm` with its tuned `preset` (if any) on `env`."""
    return [f"algorithm={algorithm}", *([f"optimised_hyperparameters={preset}"] if preset else []), f"env={env}",
            f"imitation.trajectories={trajectories}"]


def run_overrides(benchmark: Benchmark, algorithm: str) -> list[str]:
    """The train.py overrides (besides the seed) that make a run of `algorithm` part of this benchmark."""
    return preset_overrides(algorithm, benchmark.preset(algorithm), benchmark.env, benchmark.trajectories)


DATASET_SETTINGS = ("env.dataset.", "env.reference_returns.")  # follow the dataset, named in their own column


def mismatched_runs(benchmark: Benchmark, extra: list[str]) -> list[str]:
    """Existing runs that this command would reuse or resume although they were made with other learning settings
    (another dataset, a key set after `--`, or a preset whose defaults have changed since): reusing them would
    silently mix configurations. Keys a run's config lacks (added to the suite later) are not compared."""
    found = []
    for algorithm in benchmark.algorithms:
        requested = learning_settings(compose_config("config", [*run_overrides(benchmark, algorithm), *extra]))
        for seed in benchmark.seeds:
            run_dir = benchmark.run_directory(algorithm, seed)
            saved = learning_settings(run_config(run_dir))
            found += [f"{run_dir} was made with {key}={saved[key]}, not {requested[key]}"
                      for key in differing_settings(saved, requested)]
    return found


def launch(benchmark: Benchmark, algorithm: str, seed: int, steps: int, extra: list[str], threads: int) -> int:
    """Run (or resume, or skip if finished) one training run; returns its exit status."""
    run_dir = benchmark.run_directory(algorithm, seed)
    if is_finished(run_dir, steps) or left_to_another_process([run_dir]):
        return 0
    if (run_dir / "checkpoint.pt").exists():
        arguments = [f"resume={run_dir}", f"steps={steps}"]
    else:
        arguments = [*run_overrides(benchmark, algorithm), f"seed={seed}", f"steps={steps}", f"hydra.run.dir={run_dir}",
                     *extra]
    return train_process(arguments, run_dir.parent / f"seed_{seed}.log", threads)


def pending_seeds(benchmark: Benchmark, algorithm: str, steps: int) -> list[int]:
    return [seed for seed in benchmark.seeds if not is_finished(benchmark.run_directory(algorithm, seed), steps)]


def group_directory(benchmark: Benchmark, algorithm: str) -> Path:
    """With --group, a method's seeds train in one process whose run directory holds their seed_<s> folders."""
    return benchmark.run_directory(algorithm, benchmark.seeds[0]).parent


def saved_group_seeds(group_dir: Path) -> list[int]:
    """The seeds of the group last launched in group_dir ([] if none was)."""
    overrides = group_dir / ".hydra" / "overrides.yaml"
    saved = [o for o in yaml.safe_load(overrides.read_text()) or [] if o.startswith("seeds=")] \
        if overrides.exists() else []
    return [int(seed) for seed in yaml.safe_load(saved[-1].split("=", 1)[1])] if saved else []


def group_problem(benchmark: Benchmark, algorithm: str, steps: int) -> str | None:
    """Why the method's unfinished seeds cannot train as one group: some started outside the group that would
    resume them."""
    pending = pending_seeds(benchmark, algorithm, steps)
    started = [seed for seed in pending if (benchmark.run_directory(algorithm, seed) / "metrics.csv").exists()]
    if not started or resumable_group(benchmark, algorithm, pending):
        return None
    return (f"{algorithm} seeds {started} were started outside a group of seeds {pending}; finish them without "
            f"--group")


def resumable_group(benchmark: Benchmark, algorithm: str, pending: list[int]) -> bool:
    """Whether the group last launched for the method holds every pending seed and can resume: each of its
    seeds saved a checkpoint."""
    saved = saved_group_seeds(group_directory(benchmark, algorithm))
    return bool(pending) and set(pending) <= set(saved) and all(
        (benchmark.run_directory(algorithm, seed) / "checkpoint.pt").exists() for seed in saved)


def launch_group(benchmark: Benchmark, algorithm: str, steps: int, extra: list[str], threads: int) -> int:
    """Run (or resume, or skip if all finished) a method's unfinished seeds as one train.py process."""
    pending, group_dir = pending_seeds(benchmark, algorithm, steps), group_directory(benchmark, algorithm)
    if not pending or left_to_another_process([benchmark.run_directory(algorithm, seed) for seed in pending]):
        return 0
    if resumable_group(benchmark, algorithm, pending):
        arguments = [f"resume={group_dir}", f"steps={steps}"]
    else:
        arguments = [*run_overrides(benchmark, algorithm), f"seeds=[{','.join(map(str, pending))}]", f"steps={steps}",
                     f"hydra.run.dir={group_dir}", *extra]
    return train_process(arguments, group_dir / "group.log", threads)


def left_to_another_process(run_dirs: list[Path]) -> bool:
    """Whether another process is training one of `run_dirs` (this command started twice, say); if so, says that
    they are left to it: the table reads them as they are, and a later call of the command finishes them."""
    busy = [run_dir for run_dir in run_dirs if in_use(run_dir)]
    for run_dir in busy:
        print(f"{run_dir} is being trained by another process; left to it")
    return bool(busy)


def train_process(arguments: list[str], log_path: Path, threads: int) -> int:
    """train.py with `arguments`, its output appended to log_path; returns its exit status."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        return subprocess.call([sys.executable, str(REPO_ROOT / "train.py"), *arguments, "logging.progress_bar=false"],
                               cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env=os.environ | {"OMP_NUM_THREADS": str(threads)})


def evaluation_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of a run's metrics that hold an evaluation (none while it has logged only training rows)."""
    if "eval_score" not in metrics:
        metrics = metrics.assign(eval_score=np.nan)
    return metrics.dropna(subset=["eval_score"])


def score_at(metrics: pd.DataFrame, column: str, step: int) -> float | None:
    """The value of `column` at the last evaluation at or before `step`; None until the run has been evaluated
    at `step` or later (or when it has no such column)."""
    evaluations = evaluation_rows(metrics)
    if column not in evaluations or evaluations.empty or evaluations["step"].max() < step:
        return None
    return float(evaluations[evaluations["step"] <= step][column].iloc[-1])


def final_and_mean_score(run_dir: Path, steps: int) -> tuple[float, float]:
    """A run's final score (the mean of its last evaluations up to `steps`) and its mean score over all its
    evaluations up to `steps`; only up to `steps`, so that a run continued further is read as planned."""
    evaluations = evaluation_rows(pd.read_csv(run_dir / "metrics.csv"))
    scores = evaluations[evaluations["step"] <= steps]["eval_score"]
    return float(scores.iloc[-FINAL_EVALUATIONS:].mean()), float(scores.mean())


def run_config(run_dir: Path) -> dict:
    """The composed config a run was made with (its config.yaml), or {} when it has none."""
    path = run_dir / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


@functools.lru_cache
def preset_settings(algorithm: str, tuned_for: str | None, env: str, trajectories: int) -> dict[str, object]:
    """The learning settings of a method's preset as the suite composes it today."""
    preset = preset_name(tuned_for, trajectories) if tuned_for else None
    return learning_settings(compose_config("config", preset_overrides(algorithm, preset, env, trajectories)))


def changed_settings(config: dict) -> list[str]:
    """The learning settings in which a run differs from its preset today (keys set on its command line, or
    defaults changed since), leaving out the dataset's, which the dataset column names."""
    if "algorithm" not in config:
        return []
    preset = preset_settings(config["algorithm"]["name"], config.get("tuned_for"), config["env"]["name"],
                             config["imitation"]["trajectories"])
    settings = learning_settings(config)
    return [f"`{key}={settings[key]}`" for key in differing_settings(settings, preset)
            if not key.startswith(DATASET_SETTINGS)]


def preset_used(config: dict) -> str:
    """The optimised_hyperparameters preset a run was made with (named by its `tuned_for` key and trajectory
    count, or `default`), and the settings in which the run differs from that preset today."""
    if not config:
        return "unknown (no config.yaml)"
    tuned_for = config.get("tuned_for")
    name = preset_name(tuned_for, config["imitation"]["trajectories"]) if tuned_for else "default"
    changed = changed_settings(config)
    return f"{name} with {' '.join(changed)}" if changed else name


def dataset_used(config: dict) -> str:
    if not config:
        return "unknown (no config.yaml)"
    dataset = config["env"]["dataset"]
    return f"`{dataset['id'] if dataset['source'] == 'minari' else dataset['path']}`"


def distinct(values: list[str]) -> str:
    return ", ".join(sorted(set(values))) or "–"


def iqm_cell(scores: list[float]) -> str:
    return str(iqm_with_interval(np.array(scores))) if scores else "–"


def headline_table(benchmark: Benchmark, steps: int) -> str:
    """Per method, over its runs that finished `steps`: the preset and dataset they used, and the IQM [95% CI]
    over seeds of their final score and of their mean score over evaluations."""
    lines = ["| method | preset | dataset | seeds finished | final score, IQM [95% CI] | "
             "mean over evaluations, IQM [95% CI] |", "|---|---|---|---|---|---|"]
    for algorithm in benchmark.algorithms:
        finished = [run_dir for run_dir in (benchmark.run_directory(algorithm, seed) for seed in benchmark.seeds)
                    if is_finished(run_dir, steps)]
        configs = [run_config(run_dir) for run_dir in finished]
        preset = distinct([preset_used(config) for config in configs])
        if benchmark.protocol == "published" and benchmark.preset(algorithm) is None:
            preset += f" (no tuned {algorithm} preset for {benchmark.trajectories} trajectories)"
        readouts = [final_and_mean_score(run_dir, steps) for run_dir in finished]
        lines.append(f"| {algorithm} | {preset} | {distinct([dataset_used(config) for config in configs])} | "
                     f"{len(finished)} of {len(benchmark.seeds)} | {iqm_cell([final for final, _ in readouts])} | "
                     f"{iqm_cell([mean for _, mean in readouts])} |")
    return "\n".join(lines)


def summarise(values: list[float | None]) -> str:
    present = [v for v in values if v is not None and np.isfinite(v)]
    if not present:
        return "–"
    return f"{np.mean(present):.2f} ± {np.std(present):.2f} (n={len(present)})"


def code_versions(benchmark: Benchmark) -> list[str]:
    """The code versions recorded by the finished runs of the table."""
    versions = set()
    for algorithm in benchmark.algorithms:
        for seed in benchmark.seeds:
            result = benchmark.run_directory(algorithm, seed) / "result.json"
            if result.exists():
                versions.add(json.loads(result.read_text()).get("code_version", "unknown"))
    return sorted(versions)


def versions_sentence(versions: list[str]) -> str:
    if not versions:
        return "No run of this table has finished yet; a run records its code version in result.json when it does."
    return f"Code version of the finished runs (git describe): {', '.join(versions)}."


def learning_curve(run_dirs: list[Path], steps: int) -> tuple[np.ndarray, list[Estimate]]:
    """The evaluation steps (up to `steps`) that every run has, and the IQM [95% CI] over runs at each."""
    scores = [evaluation_rows(pd.read_csv(run_dir / "metrics.csv")).set_index("step")["eval_score"]
              for run_dir in run_dirs]
    table_ = pd.concat(scores, axis=1, join="inner")
    table_ = table_[table_.index <= steps]
    return table_.index.to_numpy(), [iqm_with_interval(row.to_numpy()) for _, row in table_.iterrows()]


def plot_benchmark(benchmark: Benchmark, steps: int, path: Path, command: str) -> None:
    """The final score per method (IQM with its 95% CI over the finished seeds) beside each method's learning
    curve (IQM over seeds with its 95% CI band), captioned with the command that made the figure."""
    finished = {algorithm: [run_dir for run_dir in (benchmark.run_directory(algorithm, seed)
                                                     for seed in benchmark.seeds) if is_finished(run_dir, steps)]
                for algorithm in benchmark.algorithms}
    finished = {algorithm: run_dirs for algorithm, run_dirs in finished.items() if run_dirs}
    if not finished:
        raise UserError(f"no run of {', '.join(benchmark.algorithms)} has finished {steps:,} steps: nothing to plot")
    finals = {algorithm: iqm_with_interval(np.array([final_and_mean_score(run_dir, steps)[0] for run_dir in runs]))
              for algorithm, runs in finished.items()}
    order = sorted(finals, key=lambda algorithm: finals[algorithm].value)
    colours = dict(zip(reversed(order), plt.get_cmap("tab20").colors[::2] + plt.get_cmap("tab20").colors[1::2]))
    figure, (bars, curves) = plt.subplots(1, 2, figsize=(14, 0.45 * len(order) + 3.5),
                                          gridspec_kw={"width_ratios": [1, 1.6]})
    values = np.array([finals[a].value for a in order])
    errors = np.array([[finals[a].value - finals[a].low, finals[a].high - finals[a].value] for a in order]).T
    bars.barh(range(len(order)), values, xerr=errors, color=[colours[a] for a in order], capsize=3)
    bars.set_yticks(range(len(order)), [f"{a} ({len(finished[a])} seed{'s' * (len(finished[a]) > 1)})" for a in order])
    bars.axvline(1.0, color="black", linestyle=":", linewidth=1)
    bars.set_xlabel(f"final score (mean of the last {FINAL_EVALUATIONS} evaluations), IQM and 95% CI")
    for algorithm in reversed(order):
        evaluation_steps, estimates = learning_curve(finished[algorithm], steps)
        curves.plot(evaluation_steps, [e.value for e in estimates], label=algorithm, color=colours[algorithm])
        curves.fill_between(evaluation_steps, [e.low for e in estimates], [e.high for e in estimates], alpha=0.12,
                            color=colours[algorithm])
    curves.axhline(1.0, color="black", linestyle=":", linewidth=1)
    curves.set_xlabel("environment steps")
    curves.set_ylabel("normalised score, IQM over seeds and 95% CI")
    curves.legend(fontsize="small", ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    datasets = distinct([dataset_used(run_config(run_dir)) for runs in finished.values() for run_dir in runs])
    figure.suptitle(f"{benchmark.env}, {benchmark.trajectories} expert trajectories of {datasets.replace('`', '')}, "
                    f"{steps:,} steps (score 0 = random policy, 1 = the dataset's expert)")
    figure.text(0.01, 0.005, textwrap.fill(f"made by: {command}", 200), fontsize=6, family="monospace",
                va="bottom")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def table(benchmark: Benchmark, report_at: list[int]) -> str:
    header = "| method | " + " | ".join(f"{name} @ {s:,} steps" for name in COLUMNS.values() for s in report_at) + " |"
    lines = [header, "|" + "---|" * (1 + len(COLUMNS) * len(report_at))]
    for algorithm in benchmark.algorithms:
        frames = []
        for seed in benchmark.seeds:
            path = benchmark.run_directory(algorithm, seed) / "metrics.csv"
            frames.append(pd.read_csv(path) if path.exists() else None)
        cells = []
        for column in COLUMNS:
            for step in report_at:
                cells.append(summarise([score_at(f, column, step) if f is not None else None for f in frames]))
        lines.append(f"| {algorithm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def progress(metrics: pd.DataFrame) -> str:
    """How far a run got: its last environment step, or, while it still pre-trains (its rows then sit at negative
    steps, counting up to 0), its last pre-training iteration."""
    last_step = int(metrics["step"].max())
    if last_step < 0 and "pretraining_iteration" in metrics:
        return f"0 (pre-training iteration {int(metrics['pretraining_iteration'].max()):,})"
    return f"{last_step:,}"


def runs_table(benchmark: Benchmark, report_at: list[int], steps: int) -> str:
    """One row per run that exists: how far it got, its score at the report steps, its last evaluation, and the
    mean score over its evaluations from half the planned steps on (steadier than any single evaluation)."""
    plateau_from = steps // 2
    header = ("| method | seed | steps run | " + " | ".join(f"score @ {s:,}" for s in report_at)
              + f" | last evaluation | mean score from {plateau_from:,} (evaluations) |")
    lines = [header, "|" + "---|" * (5 + len(report_at))]
    for algorithm in benchmark.algorithms:
        for seed in benchmark.seeds:
            run_dir = benchmark.run_directory(algorithm, seed)
            if not (run_dir / "metrics.csv").exists():
                continue
            metrics = pd.read_csv(run_dir / "metrics.csv")
            evaluations = evaluation_rows(metrics)
            steps_run = progress(metrics) + ("" if (run_dir / "result.json").exists() else " (unfinished)")
            scores = [score_at(metrics, "eval_score", step) for step in report_at]
            last = (f"{evaluations['eval_score'].iloc[-1]:.2f} at {int(evaluations['step'].iloc[-1]):,}"
                    if not evaluations.empty else "–")
            plateau = evaluations[evaluations["step"] >= plateau_from]["eval_score"]
            mean = f"{plateau.mean():.2f} ({len(plateau)})" if len(plateau) else "–"
            cells = [algorithm, str(seed), steps_run, *("–" if v is None else f"{v:.2f}" for v in scores), last, mean]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(benchmark: Benchmark, steps: int, report_at: list[int]) -> str:
    return (f"{headline_table(benchmark, steps)}\n\nAt given steps, mean ± std over seeds:\n\n"
            f"{table(benchmark, report_at)}\n\nEach run:\n\n{runs_table(benchmark, report_at, steps)}")


def explanation(benchmark: Benchmark, steps: int) -> str:
    """What the tables of the --output file report."""
    return (
        f"Normalised evaluation score (0 = random policy, 1 = the dataset's expert). The first table gives, per "
        f"method, over its seeds (of {benchmark.seeds}) that finished {steps:,} steps, the interquartile mean "
        f"(IQM; with fewer than 4 seeds it is the mean) and its 95% stratified-bootstrap confidence interval of "
        f"the final score (the mean of each run's last {FINAL_EVALUATIONS} evaluations) and of the mean score "
        f"over all of each run's evaluations, computed with rliable's IQM (training/aggregate.py); the preset "
        f"and dataset columns are read from the runs' config.yaml, the preset column with every learning setting "
        f"in which the runs differ from that preset as it is now (set on their command line, or a default changed "
        f"since; a key a run's config lacks, added to the suite later, is not compared). The second gives the "
        f"score and the Pearson correlation of the learned reward with the true reward on the agent's evaluation "
        f"episodes, per transition (reward corr.) and per episode return (return corr.), at given steps, mean ± "
        f"std over seeds.")


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes end, like every user error of this suite, as one `error:` line, exit status 2."""

    def error(self, message: str) -> None:
        raise UserError(message)


def parse_arguments(arguments: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The options, and the `key=value` arguments after `--` that go to every run."""
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", required=True)
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--trajectories", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=300000)
    parser.add_argument("--report-at", type=int, nargs="+", default=[100000, 300000])
    parser.add_argument("--protocol", choices=PROTOCOLS, default="default",
                        help="published: each method's tuned preset for --trajectories, where one exists")
    parser.add_argument("--parallel", type=int, default=1, help="runs (with --group, methods) at a time")
    parser.add_argument("--group", action="store_true", help="each method's seeds in one process (seeds=[...])")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: cores / parallel); lower it "
                                                     "when other jobs share the machine")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="where the runs live")
    parser.add_argument("--output", type=Path, help="markdown file for the tables and how they were made")
    parser.add_argument("--table-only", action="store_true", help="only summarise the runs that exist")
    parser.add_argument("--figure", type=Path, help="PNG file for the final scores and learning curves")
    split = arguments.index("--") if "--" in arguments else len(arguments)
    args, extra = parser.parse_args(arguments[:split]), arguments[split + 1:]
    if args.protocol == "published" and any(a.startswith("optimised_hyperparameters=") for a in extra):
        raise UserError("--protocol published chooses each method's optimised_hyperparameters preset; drop "
                        "optimised_hyperparameters= from the arguments after --, or use --protocol default")
    return args, extra


def run_all(benchmark: Benchmark, steps: int, extra: list[str], parallel: int, threads: int | None,
            group: bool = False) -> None:
    """Make the missing runs, resume cut ones, reuse finished ones (with `group`, each method's unfinished seeds
    in one process); refuse before launching any if a run directory cannot be continued."""
    jobs = [(a, s) for a in benchmark.algorithms for s in benchmark.seeds]
    stuck = unresumable_runs([benchmark.run_directory(a, s) for a, s in jobs], steps)
    if stuck:
        raise UserError(f"{', '.join(map(str, stuck))} left metrics but no checkpoint to resume; delete "
                        f"{'that directory' if len(stuck) == 1 else 'those directories'} to run again from scratch")
    mismatched = mismatched_runs(benchmark, extra)
    if mismatched:
        raise UserError(f"{'; '.join(mismatched)}; give another --work-dir for these runs")
    threads = threads or max(1, (os.cpu_count() or 1) // parallel)
    if group:
        problems = [problem for a in benchmark.algorithms if (problem := group_problem(benchmark, a, steps))]
        if problems:
            raise UserError("; ".join(problems))
        with ThreadPoolExecutor(parallel) as pool:
            statuses = list(pool.map(lambda a: launch_group(benchmark, a, steps, extra, threads), benchmark.algorithms))
        failed = [f"{a} (seeds {benchmark.seeds})" for a, status in zip(benchmark.algorithms, statuses) if status]
    else:
        with ThreadPoolExecutor(parallel) as pool:
            statuses = list(pool.map(lambda job: launch(benchmark, *job, steps, extra, threads), jobs))
        failed = [f"{a} seed {s}" for (a, s), status in zip(jobs, statuses) if status]
    for name in failed:
        print(f"{name} exited with an error; see its log in {benchmark.work_dir}")


def main(arguments: list[str]) -> None:
    args, extra = parse_arguments(arguments)
    benchmark = Benchmark(args.work_dir, args.algorithms, args.env, args.trajectories, args.seeds, args.protocol)
    if not args.table_only:
        run_all(benchmark, args.steps, extra, args.parallel, args.threads, args.group)
    result = report(benchmark, args.steps, args.report_at)
    print(result)
    command = "python scripts/benchmark_algorithms.py " + " ".join(arguments)
    if args.figure:
        plot_benchmark(benchmark, args.steps, args.figure, command)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            f"# {', '.join(args.algorithms)} on {args.env}, {args.trajectories} expert trajectories\n\n"
            f"{explanation(benchmark, args.steps)} Made on {datetime.now(UTC):%Y-%m-%d} with\n\n"
            f"    {command}\n\n{result}\n\n{versions_sentence(code_versions(benchmark))}\n")


if __name__ == "__main__":
    with exit_on_user_error():
        main(sys.argv[1:])

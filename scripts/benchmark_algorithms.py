"""Learning benchmark: normalised scores of methods at given step counts, over seeds, as a markdown table.

    python scripts/benchmark_algorithms.py --algorithms LSIQ IQLearn --env hopper --trajectories 5 \\
        --seeds 1 2 3 --steps 300000 --report-at 100000 300000 --output results/lsiq_iqlearn_hopper.md

Each (method, seed) is one `train.py` run in <work-dir>/<ALG>_<ENV>_<N>traj/seed_<S>; a run that was cut off
is resumed from its checkpoint and a finished one is reused, so the command can simply be repeated until the
table is complete. Runs go one after another unless --parallel says otherwise. Extra `key=value` arguments
after `--` go to every run. The table reports, per method and report step, the mean +- std over seeds of the
evaluation score at the last evaluation at or before that step, the same for the learned reward's correlations
with the true one (per transition and per episode return) where the method has a reward model, and how many
seeds have reached that step. In the default work dir, results/runs/,
git tracks only each run's metrics.csv, result.json and config.yaml: finished runs can be committed, and a table
completed over several machines, while checkpoints stay local.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = REPO_ROOT / "results" / "runs"  # only metrics, results and configs are tracked there
COLUMNS = {"eval_score": "score", "reward_correlation": "reward corr.", "return_correlation": "return corr."}


def run_directory(work_dir: Path, algorithm: str, env: str, trajectories: int, seed: int) -> Path:
    return work_dir / f"{algorithm}_{env}_{trajectories}traj" / f"seed_{seed}"


def is_finished(run_dir: Path, steps: int) -> bool:
    result = run_dir / "result.json"
    return result.exists() and json.loads(result.read_text())["steps"] >= steps


def unresumable_runs(run_dirs: list[Path], steps: int) -> list[Path]:
    """Runs that left metrics but neither a checkpoint to resume nor a finished result: they cannot be continued,
    and starting them again would overwrite their metrics."""
    return [run_dir for run_dir in run_dirs if (run_dir / "metrics.csv").exists()
            and not (run_dir / "checkpoint.pt").exists() and not is_finished(run_dir, steps)]


def launch(run_dir: Path, algorithm: str, env: str, trajectories: int, seed: int, steps: int,
           extra: list[str], threads: int) -> int:
    """Run (or resume, or skip if finished) one training run; returns its exit status."""
    if is_finished(run_dir, steps):
        return 0
    if (run_dir / "checkpoint.pt").exists():
        arguments = [f"resume={run_dir}", f"steps={steps}"]
    else:
        arguments = [f"algorithm={algorithm}", f"env={env}", f"imitation.trajectories={trajectories}",
                     f"seed={seed}", f"steps={steps}", f"hydra.run.dir={run_dir}", *extra]
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run_dir.parent / f"seed_{seed}.log", "a") as log:
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


def summarise(values: list[float | None]) -> str:
    present = [v for v in values if v is not None and np.isfinite(v)]
    if not present:
        return "–"
    return f"{np.mean(present):.2f} ± {np.std(present):.2f} (n={len(present)})"


def code_versions(work_dir: Path, algorithms: list[str], env: str, trajectories: int, seeds: list[int]) -> list[str]:
    """The code versions recorded by the finished runs of the table."""
    versions = set()
    for algorithm in algorithms:
        for seed in seeds:
            result = run_directory(work_dir, algorithm, env, trajectories, seed) / "result.json"
            if result.exists():
                versions.add(json.loads(result.read_text()).get("code_version", "unknown"))
    return sorted(versions)


def versions_sentence(versions: list[str]) -> str:
    if not versions:
        return "No run of this table has finished yet; a run records its code version in result.json when it does."
    return f"Code version of the finished runs (git describe): {', '.join(versions)}."


def table(work_dir: Path, algorithms: list[str], env: str, trajectories: int, seeds: list[int],
          report_at: list[int]) -> str:
    header = "| method | " + " | ".join(f"{name} @ {s:,} steps" for name in COLUMNS.values() for s in report_at) + " |"
    lines = [header, "|" + "---|" * (1 + len(COLUMNS) * len(report_at))]
    for algorithm in algorithms:
        frames = []
        for seed in seeds:
            path = run_directory(work_dir, algorithm, env, trajectories, seed) / "metrics.csv"
            frames.append(pd.read_csv(path) if path.exists() else None)
        cells = []
        for column in COLUMNS:
            for step in report_at:
                cells.append(summarise([score_at(f, column, step) if f is not None else None for f in frames]))
        lines.append(f"| {algorithm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def runs_table(work_dir: Path, algorithms: list[str], env: str, trajectories: int, seeds: list[int],
               report_at: list[int], steps: int) -> str:
    """One row per run that exists: how far it got, its score at the report steps, its last evaluation, and the
    mean score over its evaluations from half the planned steps on (steadier than any single evaluation)."""
    plateau_from = steps // 2
    header = ("| method | seed | steps run | " + " | ".join(f"score @ {s:,}" for s in report_at)
              + f" | last evaluation | mean score from {plateau_from:,} (evaluations) |")
    lines = [header, "|" + "---|" * (5 + len(report_at))]
    for algorithm in algorithms:
        for seed in seeds:
            run_dir = run_directory(work_dir, algorithm, env, trajectories, seed)
            if not (run_dir / "metrics.csv").exists():
                continue
            metrics = pd.read_csv(run_dir / "metrics.csv")
            evaluations = evaluation_rows(metrics)
            steps_run = f"{int(metrics['step'].max()):,}" + ("" if (run_dir / "result.json").exists() else " (unfinished)")
            scores = [score_at(metrics, "eval_score", step) for step in report_at]
            last = (f"{evaluations['eval_score'].iloc[-1]:.2f} at {int(evaluations['step'].iloc[-1]):,}"
                    if not evaluations.empty else "–")
            plateau = evaluations[evaluations["step"] >= plateau_from]["eval_score"]
            mean = f"{plateau.mean():.2f} ({len(plateau)})" if len(plateau) else "–"
            cells = [algorithm, str(seed), steps_run, *("–" if v is None else f"{v:.2f}" for v in scores), last, mean]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithms", nargs="+", required=True)
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--trajectories", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=300000)
    parser.add_argument("--report-at", type=int, nargs="+", default=[100000, 300000])
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, help="torch threads per run (default: cores / parallel); lower it "
                                                     "when other jobs share the machine")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="where the runs live")
    parser.add_argument("--output", type=Path, help="markdown file for the table and how it was made")
    parser.add_argument("--table-only", action="store_true", help="only summarise the runs that exist")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    jobs = [(a, s) for a in args.algorithms for s in args.seeds]
    if not args.table_only:
        stuck = unresumable_runs([run_directory(args.work_dir, a, args.env, args.trajectories, s) for a, s in jobs],
                                 args.steps)
        if stuck:
            sys.exit(f"error: {', '.join(map(str, stuck))} left metrics but no checkpoint to resume; delete "
                     f"{'that directory' if len(stuck) == 1 else 'those directories'} to run again from scratch")
        threads = args.threads or max(1, (os.cpu_count() or 1) // args.parallel)
        with ThreadPoolExecutor(args.parallel) as pool:
            statuses = list(pool.map(lambda job: launch(
                run_directory(args.work_dir, job[0], args.env, args.trajectories, job[1]), job[0], args.env,
                args.trajectories, job[1], args.steps, extra, threads), jobs))
        for (algorithm, seed), status in zip(jobs, statuses):
            if status != 0:
                print(f"{algorithm} seed {seed} exited with status {status}; see its log in {args.work_dir}")
    result = (table(args.work_dir, args.algorithms, args.env, args.trajectories, args.seeds, args.report_at)
              + "\n\nEach run:\n\n"
              + runs_table(args.work_dir, args.algorithms, args.env, args.trajectories, args.seeds, args.report_at,
                           args.steps))
    print(result)
    if args.output:
        command = "python scripts/benchmark_algorithms.py " + " ".join(sys.argv[1:])
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            f"# {', '.join(args.algorithms)} on {args.env}, {args.trajectories} expert trajectories\n\n"
            f"Normalised evaluation score (0 = random policy, 1 = the dataset's expert) and the Pearson correlation "
            f"of the learned reward with the true reward on the agent's evaluation episodes, per transition (reward "
            f"corr.) and per episode return (return corr.), mean ± std over seeds {args.seeds}. "
            f"Made on {datetime.now(UTC):%Y-%m-%d} with\n\n    {command}\n\n"
            f"{result}\n\n"
            f"{versions_sentence(code_versions(args.work_dir, args.algorithms, args.env, args.trajectories, args.seeds))}\n")


if __name__ == "__main__":
    main()

"""Read a sweep back: a table of every job (varying parameters, per-task scores, aggregate), the best
configuration, and PNG plots next to the sweep.

    python scripts/print_plot_sweep_results.py --path outputs/GAIL_all_sweep/<date-time>

Works for Ax sweeps, for plain multiruns of train.py or train_all.py, and for the run directory of several seeds
trained in one process (`train.py seeds=[...]`, whose seed_<s> folders it reads as jobs). When the only parameter
that varies is the seed, it reports the interquartile mean over seeds with a 95% stratified-bootstrap confidence interval
(training/aggregate.py, after rliable) and plots the learning curves' IQM with that interval.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from training.aggregate import iqm_with_interval  # noqa: E402


def read_jobs(sweep_dir: Path) -> pd.DataFrame:
    """One row per job directory (or seed folder of a seed group): its overrides as columns (a seed folder: its
    seed), its score and per-task scores (NaN if it failed), and its path."""
    rows = []
    for job in sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.exists() else []
        rows.append({"job": int(job.name), **dict(o.split("=", 1) for o in overrides if "=" in o), **scores(job),
                     "path": job})
    if not rows:
        seed_folders = sorted((p for p in sweep_dir.glob("seed_*") if p.name[5:].isdigit()),
                              key=lambda p: int(p.name[5:]))
        rows = [{"job": index, "seed": int(folder.name[5:]), **scores(folder), "path": folder}
                for index, folder in enumerate(seed_folders)]
    if not rows:
        raise SystemExit(f"error: {sweep_dir} holds no job directories (0, 1, ...) nor seed folders (seed_1, ...); "
                         f"give a sweep directory or the run directory of a seeds=[...] run")
    return pd.DataFrame(rows)


def scores(run_dir: Path) -> dict[str, float]:
    """A job's score and per-task (train_all) or per-seed (a seed group) scores; NaN if it has none."""
    result_file = run_dir / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    return {"score": result.get("score", np.nan),
            **{f"score_{part}": value for part, value in result.get("scores", {}).items()}}


def varying(jobs: pd.DataFrame) -> list[str]:
    """The override columns whose value differs between jobs."""
    fixed = {"job", "score", "path"} | {c for c in jobs if c.startswith("score_")}
    return [c for c in jobs if c not in fixed and jobs[c].nunique(dropna=False) > 1]


def plot_search(jobs: pd.DataFrame, parameters: list[str], out: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(jobs["job"], jobs["score"], "o", alpha=0.5, label="trial")
    ax.plot(jobs["job"], jobs["score"].cummax(), label="best so far")
    ax.set(xlabel="trial (job)", ylabel="score", title="search trace")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "best_so_far.png", dpi=100)
    plt.close(fig)
    for parameter in parameters:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        values = pd.to_numeric(jobs[parameter], errors="coerce")
        if values.isna().any():  # categorical: one column per value
            categories = sorted(jobs[parameter].astype(str).unique())
            values = jobs[parameter].astype(str).map({c: i for i, c in enumerate(categories)})
            ax.set_xticks(range(len(categories)), categories)
        ax.plot(values, jobs["score"], "o", alpha=0.6)
        ax.set(xlabel=parameter, ylabel="score")
        fig.tight_layout()
        fig.savefig(out / f"score_vs_{parameter.replace('/', '_')}.png", dpi=100)
        plt.close(fig)


def learning_curves(jobs: pd.DataFrame, out: Path) -> None:
    """IQM of the evaluation score over seeds at every evaluation step, with a bootstrap band (train.py runs)."""
    curves = []
    for job in jobs["path"]:
        metrics_file = job / "metrics.csv"
        if metrics_file.exists():
            metrics = pd.read_csv(metrics_file).dropna(subset=["eval_score"])
            curves.append(metrics.set_index("step")["eval_score"])
    if len(curves) < 2:
        return
    table = pd.concat(curves, axis=1).dropna()
    estimates = [iqm_with_interval(row.to_numpy()) for _, row in table.iterrows()]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(table.index, [e.value for e in estimates], label=f"IQM over {table.shape[1]} seeds")
    ax.fill_between(table.index, [e.low for e in estimates], [e.high for e in estimates], alpha=0.25,
                    label="95% stratified-bootstrap CI")
    ax.set(xlabel="step", ylabel="normalised score", title="learning curve")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", type=Path, required=True, help="the sweep directory")
    sweep_dir = parser.parse_args().path
    if not sweep_dir.is_dir():
        raise SystemExit(f"error: --path {sweep_dir} is not a directory; give a sweep directory")
    jobs = read_jobs(sweep_dir)
    parameters = varying(jobs)
    columns = ["job", *parameters, *sorted(c for c in jobs if c.startswith("score_")), "score"]
    print(jobs[columns].to_string(index=False))
    finished = jobs.dropna(subset=["score"])
    if finished.empty:
        print("no job finished with a score")
        return
    best = finished.loc[finished["score"].idxmax()]
    print(f"\nbest: job {best['job']}, score {best['score']:.4f}: "
          + " ".join(f"{p}={best[p]}" for p in parameters))
    if parameters == ["seed"]:
        scores = finished["score"].to_numpy()
        iqm = iqm_with_interval(scores)
        print(f"seeds: {len(scores)}, IQM {iqm.value:.4f} (95% CI {iqm.low:.4f} to {iqm.high:.4f}), "
              f"mean {scores.mean():.4f} +- {scores.std():.4f}")
        learning_curves(finished, sweep_dir)
    plot_search(jobs, parameters, sweep_dir)
    print(f"plots written to {sweep_dir}")


if __name__ == "__main__":
    main()

"""PNG figures of one run, drawn from its metrics.csv."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

EVALUATION_COLUMNS = ("eval_return", "eval_return_std", "eval_score", "train_return", "eval_return_stochastic",
                      "eval_score_stochastic")


def plot_run(run_dir: Path, title: str) -> None:
    """returns.png (evaluation and training returns) and diagnostics.png (every other logged metric)."""
    metrics = pd.read_csv(run_dir / "metrics.csv")
    _plot_returns(metrics, run_dir / "returns.png", title)
    diagnostics = [c for c in metrics.columns if c not in ("step", "pretraining_iteration", *EVALUATION_COLUMNS)]
    if diagnostics:
        _plot_diagnostics(metrics, diagnostics, run_dir / "diagnostics.png", title)


def _plot_returns(metrics: pd.DataFrame, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if "train_return" in metrics:
        train = metrics.dropna(subset=["train_return"])
        ax.plot(train["step"], train["train_return"], color="0.6", label="training episodes")
    if "eval_return" in metrics:
        evals = metrics.dropna(subset=["eval_return"])
        ax.plot(evals["step"], evals["eval_return"], marker="o", label="evaluation (deterministic)")
        ax.fill_between(evals["step"], evals["eval_return"] - evals["eval_return_std"],
                        evals["eval_return"] + evals["eval_return_std"], alpha=0.2)
    if "eval_return_stochastic" in metrics:
        evals = metrics.dropna(subset=["eval_return_stochastic"])
        ax.plot(evals["step"], evals["eval_return_stochastic"], marker="x", label="evaluation (sampled actions)")
    ax.set(xlabel="step", ylabel="return", title=title)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_diagnostics(metrics: pd.DataFrame, columns: list[str], path: Path, title: str) -> None:
    fig, axes = plt.subplots(len(columns), 1, figsize=(6, 1.8 * len(columns)), sharex=True, squeeze=False)
    for ax, column in zip(axes[:, 0], columns):
        rows = metrics.dropna(subset=[column])
        ax.plot(rows["step"], rows[column])
        ax.set_ylabel(column, fontsize=8)
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

"""A run's metrics: `metrics.csv` (flushed per row), and optionally TensorBoard events and Weights & Biases.

metrics.csv keeps the flat names every script reads (eval_score, critic_loss, ...); TensorBoard and W&B get them
grouped as researchers expect: eval/, train/ (the SAC learner and training episodes), pretraining/ (rows logged
before the first environment step) and reward_model/ (the method's own metrics and the reward correlations).
"""
from __future__ import annotations

import csv
import os
import uuid
from pathlib import Path
from typing import Any

from errors import UserError

METRICS_NAME = "metrics.csv"
WANDB_ID_NAME = "wandb_id.txt"  # the W&B run a resumed run continues
LEARNER_KEYS = {"critic_loss", "q_value", "actor_loss", "alpha", "entropy", "bc_loss", "train_return", "episodes"}


def grouped_tag(key: str, pretraining: bool = False) -> str:
    """The TensorBoard / W&B name of a metrics.csv column."""
    if pretraining:
        return f"pretraining/{key}"
    if key.startswith("eval_"):
        return f"eval/{key.removeprefix('eval_')}"
    return f"train/{key}" if key in LEARNER_KEYS else f"reward_model/{key}"


class MetricsLog:
    """Appends one CSV row per call; a row with new columns rewrites the file once with the wider header."""

    def __init__(self, run_dir: Path, tensorboard: bool, resume_step: int | None = None,
                 wandb: dict[str, Any] | None = None):
        """`wandb`: None, or wandb.init's project and config (the run's resolved config) to log there too."""
        self.path = run_dir / METRICS_NAME
        self.columns: list[str] = ["step"]
        if self.path.exists():
            self._truncate_after(resume_step if resume_step is not None else -1)
        self.tensorboard = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported only when used: it is slow to import
            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)
        self.wandb = start_wandb(run_dir, **wandb) if wandb is not None else None

    def _truncate_after(self, step: int) -> None:
        """Keep the rows up to `step` (the resumed checkpoint's); later ones will be written again. A last line
        cut short by a kill mid-write is dropped first."""
        text = self.path.read_text()
        if not text.endswith("\n"):
            self.path.write_text(text[:text.rfind("\n") + 1])
        self.columns, rows = self._read()
        self._rewrite([row for row in rows if float(row["step"]) <= step])

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        """The header and the rows as written (strings), so a rewrite keeps every value and empty cell verbatim."""
        with open(self.path, newline="") as file:
            reader = csv.DictReader(file)
            return list(reader.fieldnames or []), list(reader)

    def _rewrite(self, rows: list[dict]) -> None:
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, self.columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, self.path)

    def write(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **values}
        new_columns = [key for key in row if key not in self.columns]
        if new_columns or not self.path.exists():
            old_rows = self._read()[1] if self.path.exists() else []
            self.columns += new_columns
            self._rewrite(old_rows)
        with open(self.path, "a", newline="") as file:
            csv.DictWriter(file, self.columns).writerow(row)
            file.flush()
        pretraining = "pretraining_iteration" in values
        grouped = {grouped_tag(key, pretraining): value for key, value in values.items()}
        if self.tensorboard is not None:
            for tag, value in grouped.items():
                self.tensorboard.add_scalar(tag, value, step)
            self.tensorboard.flush()
        if self.wandb is not None and not pretraining:  # W&B steps must increase; pretraining rows count down to 0
            self.wandb.log(grouped, step=step)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
        if self.wandb is not None:
            self.wandb.finish()


def start_wandb(run_dir: Path, project: str, config: dict) -> Any:
    """A W&B run in run_dir (offline too, with WANDB_MODE=offline); a resumed run continues the same one."""
    try:
        import wandb
    except ImportError:
        raise UserError("logging.wandb=true needs the wandb package: pip install wandb (or set logging.wandb=false)"
                        ) from None
    id_file = run_dir / WANDB_ID_NAME
    if not id_file.exists():
        id_file.write_text(uuid.uuid4().hex)
    return wandb.init(project=project, name=run_dir.name, dir=str(run_dir), config=config,
                      id=id_file.read_text().strip(), resume="allow", reinit="create_new")  # one per seed of a group

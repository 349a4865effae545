"""A run's metrics: `metrics.csv` (flushed per row), TensorBoard events, and PNG curves."""
from __future__ import annotations

import csv
import os
from pathlib import Path

METRICS_NAME = "metrics.csv"


class MetricsLog:
    """Appends one CSV row per call; a row with new columns rewrites the file once with the wider header."""

    def __init__(self, run_dir: Path, tensorboard: bool, resume_step: int | None = None):
        self.path = run_dir / METRICS_NAME
        self.columns: list[str] = ["step"]
        if self.path.exists():
            self._truncate_after(resume_step if resume_step is not None else -1)
        self.tensorboard = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported only when used: it is slow to import
            self.tensorboard = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step)

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
        if self.tensorboard is not None:
            for key, value in values.items():
                self.tensorboard.add_scalar(key, value, step)
            self.tensorboard.flush()

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()

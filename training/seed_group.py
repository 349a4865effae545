"""Several seeds of one configuration in one process (`seeds=[1,2,3]`).

Each seed is an independent run in <run dir>/seed_<s>, holding exactly the files a single-seed run writes (its
config.yaml says seed=<s>, so it reruns alone). The runs share nothing: each builds its own networks, optimisers,
replay memory, environments and expert data, and the process-wide random generators are swapped to a run's own
state whenever it works. Seed s in a group therefore repeats a single-seed run of seed s bit for bit (with the same
torch thread count), and no seed can influence another. A single-seed run is the group of one, in the run
directory itself.

A run that fails with a non-finite loss stops and keeps its last good checkpoint; the others go on, and the
failure is reported when they are done.
"""
from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np
from omegaconf import DictConfig, OmegaConf

from errors import UserError
from training.build import build_run
from training.checkpoint import NonFiniteLossError
from training.config import check_seeds
from training.random_state import capture_random_state, restore_random_state
from training.run import Run

GROUP_RESULT_NAME = "result.json"  # in the group's directory: each seed's score and their mean
LOG_NAME = "train.log"
T = TypeVar("T")
_working_run: contextvars.ContextVar[Path | None] = contextvars.ContextVar("working_run", default=None)


def member_configs(cfg: DictConfig, run_dir: Path) -> list[tuple[DictConfig, Path]]:
    """(config, directory) of each run: the config itself in run_dir without `seeds`, else one per seed."""
    check_seeds(cfg.seeds)
    if cfg.seeds is None:
        return [(cfg, run_dir)]
    members = []
    for seed in cfg.seeds:
        member = cfg.copy()
        OmegaConf.update(member, "seed", int(seed))
        OmegaConf.update(member, "seeds", None)
        members.append((member, run_dir / f"seed_{seed}"))
    return members


class SeedGroup:
    """The runs of one configuration, one per seed, worked on in turn."""

    def __init__(self, cfg: DictConfig, run_dir: Path):
        self.cfg, self.run_dir, self.grouped = cfg, run_dir, cfg.seeds is not None
        self.runs: list[Run] = []
        self.failures: dict[Path, str] = {}
        self._log_handlers: list[logging.Handler] = []
        try:
            for member_cfg, member_dir in member_configs(cfg, run_dir):
                self.runs.append(self._build(member_cfg, member_dir))
        except BaseException:  # e.g. a later seed's bad checkpoint: close what the earlier seeds opened
            self.close()
            raise

    def _build(self, cfg: DictConfig, run_dir: Path) -> Run:
        if self.grouped:
            run_dir.mkdir(parents=True, exist_ok=True)
            self._log_handlers.append(_member_log_handler(run_dir))
        token = _working_run.set(run_dir)
        try:
            run = build_run(cfg, run_dir)
        finally:
            _working_run.reset(token)
        run.random_state, run.in_group = capture_random_state(), self.grouped
        return run

    def running(self) -> list[Run]:
        return [run for run in self.runs if run.run_dir not in self.failures]

    @contextmanager
    def working(self, run: Run) -> Iterator[None]:
        """While a run works: its random state is the process's, and log records go to its own log too. A group of
        one needs no swap (about 150 us a step): the process's random state is its run's."""
        swap = len(self.runs) > 1
        if swap:
            restore_random_state(run.random_state)
        token = _working_run.set(run.run_dir)
        try:
            yield
        finally:
            if swap:
                run.random_state = capture_random_state()
            _working_run.reset(token)

    def for_each(self, work: Callable[[Run], T]) -> dict[Path, T]:
        """`work` on every run still running, each in turn with its own random state; a run whose loss became
        non-finite stops there (its metrics and last good checkpoint are kept) and the others go on."""
        results = {}
        for run in self.running():
            with self.working(run):
                try:
                    results[run.run_dir] = work(run)
                except NonFiniteLossError as error:
                    run.log.close()
                    self.failures[run.run_dir] = (f"{error} at step {run.progress.step}; the run stopped, its "
                                                  f"metrics and last good checkpoint are kept in {run.run_dir}")
        return results

    def close(self) -> None:
        for run in self.running():
            run.log.close()
        for run in self.runs:
            run.lock.close()
        for handler in self._log_handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()

    def score(self, scores: dict[Path, float]) -> float:
        """The group's score, the mean over seeds of each seed's score (in the group's result.json), once every
        seed has finished; a failed seed makes the whole command fail, naming it."""
        if self.failures:
            raise UserError("; ".join(self.failures.values()) + ". Lower the learning rates or check the data")
        score = float(np.mean(list(scores.values())))
        if self.grouped:
            result = {"score": score, "aggregate": "mean",
                      "scores": {run_dir.name: value for run_dir, value in scores.items()}}
            (self.run_dir / GROUP_RESULT_NAME).write_text(json.dumps(result, indent=2))
            logging.getLogger(__name__).info(f"mean score over seeds {list(self.cfg.seeds)}: {score:.3f}")
        return score


class _WorkingRunFilter(logging.Filter):
    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = run_dir

    def filter(self, record: logging.LogRecord) -> bool:
        return _working_run.get() == self.run_dir


def _member_log_handler(run_dir: Path) -> logging.Handler:
    """A train.log in a seed's folder with the records logged while that seed works, formatted as the group's."""
    root = logging.getLogger()
    handler = logging.FileHandler(run_dir / LOG_NAME)
    formats = [h.formatter for h in root.handlers if isinstance(h, logging.FileHandler) and h.formatter]
    handler.setFormatter(formats[0] if formats else logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - "
                                                                      "%(message)s"))
    handler.addFilter(_WorkingRunFilter(run_dir))
    root.addHandler(handler)
    return handler

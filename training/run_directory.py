"""The run directory a command writes to: checked for writability before Hydra creates it, held by the one
process that trains its run, and removed again when the command stops on bad input before the run wrote anything
of its own."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from omegaconf import OmegaConf

from errors import UserError
from training.command_line import compose_config

HYDRA_FILES = (".hydra",)  # what Hydra writes before the run starts, besides the job's log file
LOCK_NAME = ".train.lock"  # locked by the process training the run; it holds that process's id


def check_output_directory(arguments: list[str], config_name: str, groups: tuple[str, ...]) -> None:
    """Raise UserError when the directory the command would write to (hydra.run.dir, or hydra.sweep.dir with
    -m) cannot be created or written, so that the failure is one line rather than Hydra's traceback."""
    multirun = any(a in ("-m", "--multirun") for a in arguments)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    chosen = [a for a in arguments if a.split("=", 1)[0] in (*groups, key) and "," not in a]
    config = compose_config(config_name, chosen, return_hydra_config=True)
    check_writable(Path(OmegaConf.select(config, key)), key)


def check_writable(path: Path, key: str) -> None:
    """`path` exists as a writable directory or can be created; nothing is left behind by the check."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{key}={path} cannot be created: {existing} is not a directory; choose another {key}")
    try:
        with tempfile.TemporaryDirectory(dir=existing):
            pass
    except OSError as error:
        raise UserError(f"{key}={path} cannot be written ({error.strerror} in {existing}); choose a writable "
                        f"directory with {key}=...") from None


def hold_run_directory(run_dir: Path) -> TextIO:
    """Lock `run_dir` for this process until the returned file is closed or the process ends (the operating system
    releases the lock even after a kill). A second process training the same run at once, say the same resumable
    command started twice, would interleave its metrics and overwrite its checkpoints; it is refused instead."""
    lock = open(run_dir / LOCK_NAME, "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise UserError(f"run directory {run_dir} is in use by another training process (pid {holder}); let that "
                        f"process finish (a cut run resumes from its checkpoint later), or choose another "
                        f"directory") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def in_use(run_dir: Path) -> bool:
    """Whether another process holds `run_dir` (see hold_run_directory)."""
    if not (run_dir / LOCK_NAME).exists():
        return False
    with open(run_dir / LOCK_NAME) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


@contextlib.contextmanager
def removed_if_stub(run_dir: Path) -> Iterator[None]:
    """On a failure, remove `run_dir` if it holds nothing but what Hydra wrote before the run started (its
    .hydra/ folder and the job's log) and its lock, so that bad input leaves no stub run folder behind. A directory with
    anything else in it (a resumed run's metrics, the user's files) is never touched."""
    try:
        yield
    except BaseException:
        if is_stub(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def is_stub(run_dir: Path) -> bool:
    if not run_dir.is_dir():
        return False
    return all(entry.name in (*HYDRA_FILES, LOCK_NAME) or (entry.is_file() and entry.suffix == ".log")
               for entry in run_dir.iterdir())

"""Running one configuration on several tasks in parallel processes and aggregating their scores.

The worker function lives here, in an importable module, so that pools work inside launcher workers too,
where `__main__` is not the app.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from hydra import compose
from omegaconf import DictConfig

from algorithms import algorithm_class
from envs.make import make_env
from errors import UserError
from training.build import load_task_expert
from training.command_line import check_group_option
from training.config import check_config
from training.loop import train

START_METHODS = ("auto", "forkserver", "spawn", "fork")


def pool_start_method(configured: str) -> str:
    """`auto`: fork inside a joblib (loky) launcher worker, whose start method the standard library cannot
    resolve for a nested pool; forkserver everywhere else."""
    if configured not in START_METHODS:
        raise UserError(f"start_method={configured} is unknown; use one of {', '.join(START_METHODS)}")
    if configured != "auto":
        return configured
    return "fork" if multiprocessing.get_start_method(allow_none=True) == "loky" else "forkserver"


AGGREGATES = {"min": np.min, "mean": np.mean}


def task_configs(cfg: DictConfig, overrides: list[str]) -> dict[str, DictConfig]:
    """The configuration of every task, composed from the job's overrides with env=<task>, checked up front
    together with the task's expert data."""
    if cfg.aggregate not in AGGREGATES:
        raise UserError(f"aggregate={cfg.aggregate} is unknown; use min or mean")
    if not cfg.tasks:
        raise UserError("tasks is empty; list the env configs to run, e.g. tasks=[hopper,walker2d]")
    own_keys = ("tasks=", "aggregate=", "processes=", "start_method=", "sweep=", "search_space=", "env=")
    shared = [o for o in overrides if not o.lstrip("+~").startswith(own_keys)]
    configs = {}
    for task in cfg.tasks:
        check_group_option("env", task)
        task_cfg = compose(config_name="config", overrides=[*shared, f"env={task}"])
        check_config(task_cfg)
        algorithm_class(task_cfg.algorithm["class"]).check_config(task_cfg)
        try:
            load_task_expert(task_cfg, make_env(task_cfg.env, task_cfg.imitation.absorbing), torch.device("cpu"))
        except UserError as error:
            raise UserError(f"{task}: {error}") from None
        configs[task] = task_cfg
    return configs


def train_task(task_cfg: DictConfig, run_dir: Path, threads: int) -> float:
    """One task in a worker process; user errors come back as UserError naming the task."""
    torch.set_num_threads(threads)
    try:
        return train(task_cfg, run_dir)
    except UserError as error:
        raise UserError(f"{task_cfg.env.name}: {error}") from None


def train_all(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> float:
    configs = task_configs(cfg, overrides)
    processes = cfg.processes or len(configs)
    threads = max(1, (os.cpu_count() or 1) // processes)
    context = multiprocessing.get_context(pool_start_method(cfg.start_method))
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = {task: pool.submit(train_task, task_cfg, run_dir / task, threads)
                   for task, task_cfg in configs.items()}
        scores = {task: future.result() for task, future in futures.items()}
    aggregate = float(AGGREGATES[cfg.aggregate](list(scores.values())))
    (run_dir / "result.json").write_text(json.dumps({"score": aggregate, "aggregate": cfg.aggregate,
                                                     "scores": scores}, indent=2))
    print(f"scores {scores}; {cfg.aggregate} {aggregate:.3f}")
    return aggregate

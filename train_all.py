"""Train one configuration on every task of the suite in parallel: `python train_all.py algorithm=<ALG>`.

Each task gets the configuration composed from the same command-line overrides with `env=<task>` (so per-task
algorithm presets apply) and its own subfolder of the run directory. Returns the aggregate (default: the
minimum over tasks) of the tasks' mean normalised scores, the value Hydra sweepers maximise. With -m it runs
the Ax sweep over conf/search_space/<ALG>.yaml (see README).
"""
from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from errors import exit_on_user_error, in_sweep_job
from training.all_tasks import train_all
from training.command_line import check_overrides
from training.run_directory import check_output_directory, removed_if_stub

GROUPS = ("algorithm", "env", "optimised_hyperparameters", "search_space", "sweep")


@hydra.main(version_base=None, config_path="conf", config_name="train_all")
def main(cfg: DictConfig) -> float:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = in_sweep_job()  # a failed trial of a sweep keeps its folder: its log says why it failed
    with exit_on_user_error(in_sweep=in_sweep), removed_if_stub(run_dir) if not in_sweep else nullcontext():
        return train_all(cfg, run_dir, list(hydra_cfg.overrides.task))


if __name__ == "__main__":
    with exit_on_user_error():
        check_overrides(sys.argv[1:], config_name="train_all", groups=GROUPS)
        check_output_directory(sys.argv[1:], "train_all", GROUPS)
    main()

"""Train one configuration on every task of the suite in parallel: `python train_all.py algorithm=<ALG>`.

Each task gets the configuration composed from the same command-line overrides with `env=<task>` (so per-task
algorithm presets apply) and its own subfolder of the run directory. Returns the aggregate (default: the
minimum over tasks) of the tasks' mean normalised scores, the value Hydra sweepers maximise. With -m it runs
the Ax sweep over conf/search_space/<ALG>.yaml (see README).
"""
from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from training.all_tasks import train_all
from training.command_line import check_overrides
from training.errors import exit_on_user_error, in_sweep_job


@hydra.main(version_base=None, config_path="conf", config_name="train_all")
def main(cfg: DictConfig) -> float:
    with exit_on_user_error(in_sweep=in_sweep_job()):
        hydra_cfg = HydraConfig.get()
        return train_all(cfg, Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task))


if __name__ == "__main__":
    with exit_on_user_error():
        check_overrides(sys.argv[1:], config_name="train_all", groups=(
            "algorithm", "env", "optimised_hyperparameters", "search_space", "sweep"))
    main()

"""Train one imitation-learning method (or SAC) on one task: `python train.py algorithm=<ALG> env=<ENV>`.

Returns the mean normalised evaluation score, the value Hydra sweepers maximise.
"""
from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from errors import exit_on_user_error, in_sweep_job
from training.command_line import check_overrides, expand_resume
from training.loop import train
from training.run_directory import check_output_directory, removed_if_stub

GROUPS = ("algorithm", "env", "optimised_hyperparameters")


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    in_sweep = in_sweep_job()  # a failed job of a sweep keeps its folder: its log says why it failed
    with exit_on_user_error(in_sweep=in_sweep), removed_if_stub(run_dir) if not in_sweep else nullcontext():
        return train(cfg, run_dir)


if __name__ == "__main__":
    with exit_on_user_error():
        sys.argv[1:] = expand_resume(sys.argv[1:])
        check_overrides(sys.argv[1:], groups=GROUPS)
        check_output_directory(sys.argv[1:], "config", GROUPS)
    main()

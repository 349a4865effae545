"""Train one imitation-learning method (or SAC) on one task: `python train.py algorithm=<ALG> env=<ENV>`.

Returns the mean normalised evaluation score, the value Hydra sweepers maximise.
"""
from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from training.command_line import check_overrides, expand_resume
from training.errors import exit_on_user_error, in_sweep_job
from training.loop import train


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    with exit_on_user_error(in_sweep=in_sweep_job()):
        return train(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    with exit_on_user_error():
        sys.argv[1:] = expand_resume(sys.argv[1:])
        check_overrides(sys.argv[1:])
    main()

"""A toy Hydra app for the sweeper tests: its score peaks at x = 0.3 (and y = "b"); x > 0.9 crashes, x in
(0.8, 0.9] is refused as a user error, x < 0.02 scores NaN."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from errors import UserError, exit_on_user_error, in_sweep_job


@hydra.main(version_base=None, config_path=".", config_name="quadratic")
def main(cfg: DictConfig) -> float:
    if cfg.x > 0.9:
        raise RuntimeError("x > 0.9 is outside the toy's domain")
    with exit_on_user_error(in_sweep=in_sweep_job()):
        if cfg.x > 0.8:
            raise UserError(f"x={cfg.x} is refused; use x <= 0.8")
    if cfg.x < 0.02:
        return float("nan")
    return -(cfg.x - 0.3) ** 2 - (0.0 if cfg.y == "b" else 0.1)


if __name__ == "__main__":
    main()

"""The class Hydra discovers; Ax itself (seconds to import) is loaded only when a sweep starts."""
from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

import hydra_plugins.ax_sweeper.config  # noqa: F401  (registers hydra/sweeper=ax)


class AxSweeper(Sweeper):
    def __init__(self, max_batch_size: int, generation_method: str, initialization_budget: int | None,
                 ax_config: DictConfig):
        from hydra_plugins.ax_sweeper._core import CoreAxSweeper
        self.sweeper = CoreAxSweeper(max_batch_size, generation_method, initialization_budget, ax_config)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.sweeper.sweep(arguments)

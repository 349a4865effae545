"""The sweeper's config node (`hydra.sweeper`), in the layout of the original hydra-ax-sweeper's ax_config."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class EarlyStopConfig:
    minimize: bool = True  # kept for layout compatibility; the direction is experiment.minimize
    max_epochs_without_improvement: int = 10  # batches without an improvement larger than epsilon
    epsilon: float = 1e-5


@dataclass
class ExperimentConfig:
    name: str | None = None
    objective_name: str = "objective"
    minimize: bool = True
    parameter_constraints: list[str] | None = None
    outcome_constraints: list[str] | None = None
    status_quo: dict[str, Any] | None = None


@dataclass
class ClientConfig:
    verbose_logging: bool = False
    random_seed: int | None = None


@dataclass
class AxConfig:
    max_trials: int = 10
    early_stop: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    client: ClientConfig = field(default_factory=ClientConfig)
    params: dict[str, Any] = field(default_factory=dict)  # key -> {type: range|choice|fixed, bounds|values|value, ...}
    is_noisy: bool = True  # a returned float has unknown noise (inferred) rather than none


@dataclass
class AxSweeperConf:
    _target_: str = "hydra_plugins.ax_sweeper.ax_sweeper.AxSweeper"
    max_batch_size: int = 1  # trials asked of Ax and handed to the launcher at once (parallel with joblib etc.)
    generation_method: str = "fast"  # fast | quality | random_search (Ax's generation strategies)
    initialization_budget: int | None = None  # Sobol trials before Bayesian optimisation (null = Ax's default)
    ax_config: AxConfig = field(default_factory=AxConfig)


ConfigStore.instance().store(group="hydra/sweeper", name="ax", node=AxSweeperConf, provider="ilbench")

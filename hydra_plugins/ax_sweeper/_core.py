"""The sweep loop: ask Ax for a batch of trials, run it through Hydra's launcher, report the scores back.

A trial that raises, or returns a non-finite value, is marked failed in Ax and the sweep goes on. The Ax
experiment is saved to <sweep dir>/ax_experiment.json after every batch; a sweep started again with the same
hydra.sweep.dir resumes from it (trials that were running when it stopped are marked failed).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import yaml
from ax import ChoiceParameterConfig, Client, RangeParameterConfig
from ax.exceptions.core import DataRequiredError, SearchSpaceExhausted, UserInputError
from ax.utils.common.logger import set_ax_logger_levels
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from errors import UserError, exit_on_user_error

log = logging.getLogger(__name__)
EXPERIMENT_FILE = "ax_experiment.json"
RESULTS_FILE = "optimization_results.yaml"


def range_parameter(name: str, low, high, log_scale: bool, value_type: str | None) -> RangeParameterConfig:
    integer = value_type == "int" or (value_type is None and isinstance(low, int) and isinstance(high, int))
    return RangeParameterConfig(name=name, bounds=(low, high), parameter_type="int" if integer else "float",
                                scaling="log" if log_scale else None)


def choice_parameter(name: str, values: list, value_type: str | None, is_ordered: bool | None) -> ChoiceParameterConfig:
    if value_type is None:
        value_type = ("bool" if all(isinstance(v, bool) for v in values) else
                      "int" if all(isinstance(v, int) and not isinstance(v, bool) for v in values) else
                      "float" if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) else "str")
    if is_ordered is None:
        is_ordered = value_type in ("int", "float")
    return ChoiceParameterConfig(name=name, values=list(values), parameter_type=value_type, is_ordered=is_ordered)


def parameters_from_config(params: dict) -> tuple[dict[str, Any], list[str]]:
    """Ax parameters of the `params` layout, and the fixed ones as plain overrides."""
    parameters, fixed = {}, []
    for name, spec in params.items():
        kind, value_type = spec["type"], spec.get("value_type")
        if kind == "range":
            low, high = spec["bounds"]
            parameters[name] = range_parameter(name, low, high, bool(spec.get("log_scale", False)), value_type)
        elif kind == "choice":
            parameters[name] = choice_parameter(name, spec["values"], value_type, spec.get("is_ordered"))
        elif kind == "fixed":
            fixed.append(f"{name}={format_value(spec['value'])}")
        else:
            raise UserError(f"hydra.sweeper.ax_config.params.{name}.type={kind} is unknown; use range, choice or fixed")
    return parameters, fixed


def parameter_from_override(override: Override):
    """An Ax parameter for a command-line sweep (interval, choice, range), or None for a plain override."""
    name, value = override.get_key_element(), override.value()
    if isinstance(value, IntervalSweep):
        integer = "int" if isinstance(value.start, int) and isinstance(value.end, int) else None
        return range_parameter(name, value.start, value.end, "log" in (value.tags or set()), integer)
    if isinstance(value, ChoiceSweep):
        return choice_parameter(name, list(override.sweep_iterator()), None, None)
    if isinstance(value, RangeSweep):
        return choice_parameter(name, list(override.sweep_iterator()), "int", True)
    return None


def command_line_wins(parameters: dict[str, Any], fixed: list[str], passed_through: list[str]) -> list[str]:
    """A key the command line sets to one value leaves the search space (and the fixed values): every trial
    runs with the user's value. Removes those keys from `parameters`; returns the fixed overrides that remain."""
    given = {line.split("=", 1)[0].lstrip("+~") for line in passed_through}
    for key in sorted(given & parameters.keys()):
        del parameters[key]
        log.info(f"{key} is set on the command line: the sweep keeps it at that value instead of searching it")
    return [line for line in fixed if line.split("=", 1)[0] not in given]


def format_value(value) -> str:
    """An override value Hydra parses back to the same value."""
    if isinstance(value, str) and any(c in value for c in ",[]{}()= '\""):
        return "'" + value.replace("'", "\\'") + "'"
    return str(value)


class CoreAxSweeper(Sweeper):
    def __init__(self, max_batch_size: int, generation_method: str, initialization_budget: int | None,
                 ax_config: DictConfig):
        self.max_batch_size, self.generation_method = max_batch_size, generation_method
        self.initialization_budget = initialization_budget
        self.ax_config = ax_config
        if not ax_config.client.verbose_logging:
            set_ax_logger_levels(logging.WARNING)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)
        self.sweep_dir = Path(config.hydra.sweep.dir)

    # -- the experiment --------------------------------------------------------------------------------------

    def objective(self) -> str:
        name = self.ax_config.experiment.objective_name
        return f"-{name}" if self.ax_config.experiment.minimize else name

    def build_client(self, parameters: dict[str, Any]) -> Client:
        saved = self.sweep_dir / EXPERIMENT_FILE
        if saved.exists():
            client = Client.load_from_json_file(filepath=str(saved))
            statuses = trial_statuses(client)
            for index, status in statuses.items():
                if status == "RUNNING":
                    client.mark_trial_failed(index, failed_reason="the sweep stopped while it ran")
            log.info(f"resuming the Ax experiment of {saved} ({len(statuses)} trials)")
            return client
        experiment = self.ax_config.experiment
        client = Client(random_seed=self.ax_config.client.random_seed)
        client.configure_experiment(parameters=list(parameters.values()), name=experiment.name,
                                    parameter_constraints=list(experiment.parameter_constraints or []))
        client.configure_optimization(objective=self.objective(),
                                      outcome_constraints=list(experiment.outcome_constraints or []))
        client.configure_generation_strategy(method=self.generation_method,
                                             initialization_budget=self.initialization_budget)
        return client

    def ask(self, client: Client, count: int) -> dict[int, dict]:
        """Up to `count` new trials (Ax may hand them out in pieces); fewer when the space is exhausted."""
        trials: dict[int, dict] = {}
        while len(trials) < count:
            try:
                batch = client.get_next_trials(max_trials=count - len(trials))
            except (DataRequiredError, SearchSpaceExhausted):
                break
            if not batch:
                break
            trials.update(batch)
        return trials

    # -- the sweep -------------------------------------------------------------------------------------------

    def sweep(self, arguments: list[str]) -> Any:
        """Run the sweep; a search space Ax cannot use ends in one error line, before any trial."""
        with exit_on_user_error():
            try:
                return self.optimise(arguments)
            except UserInputError as error:
                raise UserError(f"the search space is invalid: {error}") from None

    def optimise(self, arguments: list[str]) -> Any:
        params = OmegaConf.to_container(self.ax_config.params, resolve=True) or {}
        parameters, fixed = parameters_from_config(params)
        passed_through = []
        for override in OverridesParser.create().parse_overrides(arguments):
            parameter = parameter_from_override(override) if override.is_sweep_override() else None
            if parameter is not None:
                parameters[parameter.name] = parameter
            else:
                passed_through.append(override.input_line)
        fixed = command_line_wins(parameters, fixed, passed_through)
        base = fixed + passed_through
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        client = self.build_client(parameters)
        job_index = 1 + max((int(p.name) for p in self.sweep_dir.iterdir() if p.name.isdigit()), default=-1)
        best, stale = None, 0
        max_trials, early_stop = self.ax_config.max_trials, self.ax_config.early_stop
        while (made := len(trial_statuses(client))) < max_trials:
            trials = self.ask(client, min(self.max_batch_size, max_trials - made))
            if not trials:
                break
            overrides = [base + [f"{k}={format_value(v)}" for k, v in p.items()] for p in trials.values()]
            self.validate_batch_is_legal(overrides)
            returns = self.launcher.launch(overrides, initial_job_idx=job_index)
            job_index += len(overrides)
            for trial_index, job in zip(trials, returns):
                self.report(client, trial_index, job)
            client.save_to_json_file(filepath=str(self.sweep_dir / EXPERIMENT_FILE))
            current = self.best(client)
            if current is not None and (best is None or self.improvement(best[1], current[1]) > early_stop.epsilon):
                best, stale = current, 0
            else:
                stale += 1
                if stale >= early_stop.max_epochs_without_improvement:
                    log.info(f"no improvement in {stale} batches: stopping early")
                    break
        return self.finish(client)

    def report(self, client: Client, trial_index: int, job) -> None:
        metric = self.ax_config.experiment.objective_name
        if job.status != JobStatus.COMPLETED:
            client.mark_trial_failed(trial_index, failed_reason=f"the job raised {job._return_value!r}")
            return
        value = job._return_value
        mean, sem = value if isinstance(value, (tuple, list)) else (value, None if self.ax_config.is_noisy else 0.0)
        try:
            mean = float(mean)
        except (TypeError, ValueError):
            mean = math.nan
        if not math.isfinite(mean):
            client.mark_trial_failed(trial_index, failed_reason=f"the job returned {value!r}")
            return
        client.complete_trial(trial_index, raw_data={metric: (mean, sem)})

    def best(self, client: Client) -> tuple[dict, float] | None:
        try:
            parameters, values, _, _ = client.get_best_parameterization(use_model_predictions=False)
        except Exception:  # Ax raises AssertionError (or UnsupportedError) while no trial has data
            return None
        return parameters, float(values[self.ax_config.experiment.objective_name][0])

    def improvement(self, old: float, new: float) -> float:
        return old - new if self.ax_config.experiment.minimize else new - old

    def finish(self, client: Client) -> dict:
        best = self.best(client)
        results = {"optimizer": "ax", "ax": best[0] if best else None,
                   self.ax_config.experiment.objective_name: best[1] if best else None,
                   "trials": len(trial_statuses(client))}
        (self.sweep_dir / RESULTS_FILE).write_text(yaml.safe_dump(results, sort_keys=False))
        log.info(f"best parameters: {results['ax']} ({self.ax_config.experiment.objective_name} "
                 f"{results[self.ax_config.experiment.objective_name]})")
        print(f"Best parameters: {results['ax']}")
        return results


def trial_statuses(client: Client) -> dict[int, str]:
    """Trial index -> status name (RUNNING, COMPLETED, FAILED, ...) from Ax's public summary of the experiment."""
    summary = client.summarize()
    return dict(zip(summary["trial_index"], summary["trial_status"])) if len(summary) else {}

"""Validation of the composed config: every shared key is checked once, before any work starts."""
from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from algorithms.sac import ABSORBING_BOOTSTRAPS
from errors import UserError
from models.mlp import ACTIVATIONS
from models.precision import PRECISIONS

logger = logging.getLogger(__name__)
# CPU features that run bfloat16 matrix products natively (x86, then Arm); elsewhere PyTorch emulates them
NATIVE_BFLOAT16_CPU_FEATURES = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")


@dataclass(frozen=True)
class Rule:
    key: str
    kind: type
    allowed: Callable[[object], bool]
    expected: str  # what a valid value looks like, for the error line


def _positive(v) -> bool:
    return v > 0


def _non_negative(v) -> bool:
    return v >= 0


RULES = [
    Rule("seed", int, _non_negative, "an integer >= 0"),
    Rule("precision", str, lambda v: v in PRECISIONS, " or ".join(PRECISIONS)),
    Rule("steps", int, _positive, "an integer > 0"),
    Rule("training.start", int, _non_negative, "an integer >= 0"),
    Rule("training.interval", int, _positive, "an integer > 0"),
    Rule("training.batch_size", int, _positive, "an integer > 0"),
    Rule("training.learning_rate", float, _positive, "a number > 0"),
    Rule("training.compile", bool, lambda v: True, "true or false"),
    Rule("reinforcement.discount", float, lambda v: 0 < v < 1, "a number in (0, 1)"),
    Rule("reinforcement.polyak_factor", float, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    Rule("reinforcement.target_temperature", float, lambda v: True, "a number"),
    Rule("reinforcement.learn_temperature", bool, lambda v: True, "true or false"),
    Rule("reinforcement.initial_temperature", float, _positive, "a number > 0"),
    Rule("reinforcement.actor_learning_rate", float, _positive, "a number > 0"),
    Rule("reinforcement.temperature_learning_rate", float, _positive, "a number > 0"),
    Rule("model.hidden_size", int, _positive, "an integer > 0"),
    Rule("model.depth", int, _non_negative, "an integer >= 0"),
    Rule("model.activation", str, lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    Rule("model.critics", int, _positive, "an integer > 0"),
    Rule("model.log_std_min", float, lambda v: True, "a number"),
    Rule("model.log_std_max", float, lambda v: True, "a number"),
    Rule("memory.size", int, _positive, "an integer > 0"),
    Rule("imitation.trajectories", int, _non_negative, "an integer >= 0 (0 = all)"),
    Rule("imitation.trajectory_selection", str, lambda v: v in ("random", "first"), "random or first"),
    Rule("imitation.subsample", int, _positive, "an integer >= 1"),
    Rule("imitation.state_only", bool, lambda v: True, "true or false"),
    Rule("imitation.absorbing", bool, lambda v: True, "true or false"),
    Rule("imitation.absorbing_bootstrap", str, lambda v: v in ABSORBING_BOOTSTRAPS, " or ".join(ABSORBING_BOOTSTRAPS)),
    Rule("imitation.bc_aux_loss", bool, lambda v: True, "true or false"),
    Rule("imitation.offline", bool, lambda v: True, "true or false"),
    Rule("imitation.mix_expert_data", str, lambda v: True, "none, mixed_batch or prefill_memory"),
    Rule("bc_pretraining.iterations", int, _non_negative, "an integer >= 0"),
    Rule("bc_pretraining.learning_rate", float, _positive, "a number > 0"),
    Rule("evaluation.interval", int, _positive, "an integer > 0"),
    Rule("evaluation.episodes", int, _positive, "an integer > 0"),
    Rule("evaluation.normalise", bool, lambda v: True, "true or false"),
    Rule("evaluation.stochastic", bool, lambda v: True, "true or false"),
    Rule("logging.interval", int, _positive, "an integer > 0"),
    Rule("logging.tensorboard", bool, lambda v: True, "true or false"),
    Rule("logging.progress_bar", bool, lambda v: True, "true or false"),
    Rule("logging.wandb", bool, lambda v: True, "true or false"),
    Rule("logging.wandb_project", str, lambda v: len(v) > 0, "a W&B project name"),
    Rule("checkpoint.interval", int, _positive, "an integer > 0"),
    Rule("env.max_episode_steps", int, _positive, "an integer > 0"),
]


def _has_kind(value: object, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_config(cfg: DictConfig) -> None:
    """Raise UserError naming the first invalid key, its value and what is allowed."""
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key)
        if not _has_kind(value, rule.kind) or not rule.allowed(value):
            raise UserError(f"{rule.key}={value!r} is invalid; it must be {rule.expected}")
    check_seeds(cfg.seeds)
    if cfg.tuned_for is not None and cfg.tuned_for != cfg.algorithm.name:
        raise UserError(f"the optimised_hyperparameters preset was tuned for {cfg.tuned_for}, not "
                        f"{cfg.algorithm.name}; run it with algorithm={cfg.tuned_for}")
    if cfg.model.log_std_min >= cfg.model.log_std_max:
        raise UserError("model.log_std_min must be below model.log_std_max")
    check_precision(cfg.precision, resolve_device(cfg.device))
    if cfg.training.compile:
        check_compiler(resolve_device(cfg.device))


def check_seeds(seeds: object) -> None:
    """`seeds`: null, or a list of distinct integers >= 0."""
    values = OmegaConf.to_object(seeds) if isinstance(seeds, ListConfig) else seeds
    if values is None:
        return
    valid = isinstance(values, list) and values and all(_has_kind(v, int) and v >= 0 for v in values)
    if not valid or len(set(values)) != len(values):
        raise UserError(f"seeds={values!r} is invalid; it must be a list of distinct integers >= 0, e.g. "
                        f"seeds=[1,2,3], or null (one run of `seed`)")


def check_compiler(device: torch.device) -> None:
    """torch.compile builds C++ kernels on a CPU and Triton kernels on a GPU: refuse before any work where the
    toolchain is missing, instead of failing at the first update."""
    if device.type == "cpu" and not any(shutil.which(name) for name in ("g++", "c++", "clang++")):
        raise UserError("training.compile=true needs a C++ compiler (g++ or clang++) on a CPU; install one, or set "
                        "training.compile=false")
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        raise UserError("training.compile=true needs the triton package on a GPU; pip install triton, or set "
                        "training.compile=false")


def check_precision(precision: str, device: torch.device) -> None:
    """bf16 needs a device that computes in bfloat16: refused where it cannot, and a warning where PyTorch only
    emulates it (correct, but usually slower than fp32). Every CPU can; a CUDA device if torch says so."""
    if precision != "bf16":
        return
    if device.type == "cuda":
        with torch.cuda.device(device):
            if not torch.cuda.is_bf16_supported():
                raise UserError(f"precision=bf16 but {torch.cuda.get_device_name()} does not support bfloat16; "
                                f"use precision=fp32")
            native = torch.cuda.is_bf16_supported(including_emulation=False)
    elif device.type == "cpu":
        capabilities = torch.cpu.get_capabilities()
        native = any(capabilities.get(feature, False) for feature in NATIVE_BFLOAT16_CPU_FEATURES)
    else:
        raise UserError(f"precision=bf16 runs on cpu and cuda devices, not {device.type}; use precision=fp32")
    if not native:
        logger.warning(f"precision=bf16 on a {device.type} device without native bfloat16 matrix products: PyTorch "
                       f"emulates them, usually far slower than precision=fp32 (see docs/PRECISION.md)")


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when available; anything else must be a torch device string that exists here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"device={name} is not a torch device; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device={name} but CUDA is not available here; use device=auto or device=cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"device={name} but this machine has {torch.cuda.device_count()} CUDA device(s); use "
                        f"cuda:0 to cuda:{torch.cuda.device_count() - 1}, or device=auto")
    return device


# What decides how a run learns and is scored; a run resumed or reused under other values would mix two configurations.
LEARNING_SECTIONS = ("tuned_for", "precision", "training", "reinforcement", "model", "memory", "imitation",
                     "bc_pretraining", "algorithm", "env", "evaluation")
READOUT_ONLY_SETTINGS = {"evaluation.stochastic", "training.compile"}  # change neither the learning nor the score


def learning_settings(config: DictConfig | dict) -> dict[str, object]:
    """The config's learning settings as dotted keys (lists count as one value)."""
    tree = OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else config
    settings: dict[str, object] = {}

    def flatten(node: object, key: str) -> None:
        if isinstance(node, dict):
            for child, value in node.items():
                flatten(value, f"{key}.{child}" if key else str(child))
        else:
            settings[key] = node

    flatten({section: tree[section] for section in LEARNING_SECTIONS if section in tree}, "")
    return {key: value for key, value in settings.items() if key not in READOUT_ONLY_SETTINGS}


def differing_settings(made_with: dict[str, object], now: dict[str, object]) -> list[str]:
    """The learning settings whose value differs between two configs; keys a run's config lacks (added to the
    suite later) are not compared."""
    return [key for key, value in made_with.items() if key in now and now[key] != value]


def check_resumed_settings(saved: DictConfig, resumed: DictConfig, run_dir: Path) -> None:
    """Refuse to continue a run under learning settings other than those it was made with: a default changed
    since it started, or a new value on the resume command line, would silently mix two configurations."""
    made_with, now = learning_settings(saved), learning_settings(resumed)
    changed = differing_settings(made_with, now)
    if changed:
        differences = ", ".join(f"{key}={made_with[key]}, now {now[key]}" for key in changed)
        restore = " ".join(f"{key}={made_with[key]}" for key in changed)
        raise UserError(f"resume={run_dir} would change settings the run was made with ({differences}: a default "
                        f"changed since, or a new value on the command line); add {restore} to resume it as it was "
                        f"made, or start a new run")

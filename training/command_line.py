"""Checks of the command line before Hydra composes it: unknown groups and keys become one clear line,
and `resume=<run dir>` expands into the run's original overrides."""
from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


def expand_resume(arguments: list[str]) -> list[str]:
    """`resume=DIR` -> the overrides DIR was launched with, then `hydra.run.dir=DIR`, then the new arguments."""
    resume = [a.split("=", 1)[1] for a in arguments if a.startswith("resume=")]
    if not resume or resume[-1] in ("", "null"):
        return arguments
    run_dir = Path(resume[-1])
    saved = run_dir / ".hydra" / "overrides.yaml"
    if not saved.exists():
        raise UserError(f"resume={run_dir} is not a run directory (no .hydra/overrides.yaml); give the directory "
                        f"printed when the run started, e.g. outputs/SAC_hopper/<date-time>")
    original = [o for o in yaml.safe_load(saved.read_text()) or [] if not o.startswith(("resume=", "hydra."))]
    return original + [f"hydra.run.dir={run_dir}"] + arguments


def check_overrides(arguments: list[str], config_name: str = "config",
                    groups: tuple[str, ...] = ("algorithm", "env", "optimised_hyperparameters")) -> None:
    """Raise UserError for an unknown config-group option or config key on the command line of the app
    whose primary config is conf/<config_name>.yaml."""
    overrides = OverridesParser.create().parse_overrides(
        [a for a in arguments if "=" in a and not a.startswith("-")])
    if {"seed", "seeds"} <= {override.get_key_element() for override in overrides}:
        raise UserError("give seed=<s> (one run) or seeds=[...] (several in one process), not both")
    choices: dict[str, str] = {}
    for override in overrides:
        key = override.get_key_element()
        if key in groups:
            values = [str(v) for v in override.sweep_string_iterator()] if override.is_sweep_override() else \
                [override.get_value_element_as_str()]
            for value in values:
                check_group_option(key, value)
            choices[key] = values[0]
    config = compose_config(config_name, [f"{group}={value}" for group, value in choices.items()])
    for override in overrides:
        key = override.get_key_element()
        if override.is_hydra_override() or override.is_add() or override.is_force_add() or \
                override.is_delete() or key in groups or key.startswith("hydra."):
            continue
        if OmegaConf.select(config, key, default=_MISSING) is _MISSING:
            suggestion = difflib.get_close_matches(key, _all_keys(config), n=1)
            hint = f"did you mean {suggestion[0]}? " if suggestion else ""
            raise UserError(f"unknown config key '{key}'; {hint}(to add a new key on purpose write +{key}=...)")


_MISSING = object()


def check_group_option(group: str, value: str) -> None:
    options = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
    if value not in options:
        raise UserError(f"unknown {group} '{value}'; choose one of: {', '.join(options)}")


def compose_config(config_name: str, overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    """conf/<config_name>.yaml composed with `overrides`, outside any Hydra app (with Hydra's own settings
    under `hydra` if `return_hydra_config`)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose(config_name=config_name, overrides=overrides, return_hydra_config=return_hydra_config)


def _all_keys(config: DictConfig, prefix: str = "") -> list[str]:
    keys = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        keys.append(path)
        if isinstance(value, DictConfig):
            keys += _all_keys(value, f"{path}.")
    return keys

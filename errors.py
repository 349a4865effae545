"""User mistakes: reported as one line naming the problem and the fix, never as a traceback.

A leaf module: every layer (algorithms, data, training, hydra_plugins, scripts) imports it, and it imports
nothing of the project.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


class UserError(Exception):
    """Bad input (config, dataset, command line) that the user can fix; its message says how."""


class JobFailed(RuntimeError):
    """A job of a sweep stopped on a UserError (already reported); the sweeper records the job as failed."""


@contextlib.contextmanager
def exit_on_user_error(in_sweep: bool = False) -> Iterator[None]:
    """Turn a UserError into `error: <message>` on stderr and exit status 2; inside a job of a sweep into a
    failed job instead, so that one bad trial (a diverging configuration, say) does not end the sweep."""
    try:
        yield
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        if in_sweep:
            raise JobFailed(str(error)) from None
        raise SystemExit(2) from None


def check_choice(options: Any, key: str, allowed: tuple[str, ...], prefix: str = "algorithm") -> None:
    """Raise UserError unless options[key] is one of `allowed`."""
    if options[key] not in allowed:
        raise UserError(f"{prefix}.{key}={options[key]} is unknown; use one of {', '.join(map(str, allowed))}")


def in_sweep_job() -> bool:
    """Whether this code runs as a job of a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN

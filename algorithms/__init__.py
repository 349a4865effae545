"""One module per imitation-learning method, all trained by the shared SAC learner in `sac.py`.

A method is chosen by its config file (`conf/algorithm/<NAME>.yaml`), whose `algorithm.class` names the class;
nothing else in the suite knows the method by name.
"""
from __future__ import annotations

import importlib

from errors import UserError


def algorithm_class(dotted_path: str) -> type:
    """The class at `package.module.ClassName`."""
    module_name, _, class_name = dotted_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise UserError(f"algorithm.class={dotted_path} does not name a class; use e.g. algorithms.bc.BC") from None

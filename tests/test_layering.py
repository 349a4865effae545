"""The layers import downwards only: nothing below training/ imports it, and errors.py imports nothing of the suite."""
from __future__ import annotations

import ast

import pytest

from conftest import REPO_ROOT

SUITE = ("algorithms", "data", "envs", "models", "training", "hydra_plugins", "scripts", "errors")


def imported_packages(path) -> set[str]:
    """The top-level names of every module `path` imports (at any depth of the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ["algorithms", "data", "envs", "models", "hydra_plugins"])
def test_lower_layers_do_not_import_training_or_scripts(layer):
    offenders = {str(path.relative_to(REPO_ROOT)): sorted(imported_packages(path) & {"training", "scripts"})
                 for path in (REPO_ROOT / layer).rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_errors_is_a_leaf_module():
    assert imported_packages(REPO_ROOT / "errors.py") & set(SUITE) == set()

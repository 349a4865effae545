"""Which code made a result: the git commit of this checkout."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The git commit of this code (with -dirty when there are uncommitted changes), or 'unknown'."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"

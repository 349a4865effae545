"""Markdown table of the shipped expert datasets, read from their Minari metadata:

    python scripts/dataset_table.py [--root experts]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from errors import UserError, exit_on_user_error

REPO_ROOT = Path(__file__).resolve().parent.parent


def rows(root: Path) -> list[str]:
    if not any(root.glob("**/data/metadata.json")):
        raise UserError(f"--root {root} holds no Minari dataset (no */data/metadata.json); give the folder the "
                        f"datasets were written to, e.g. experts")
    lines = ["| dataset | env | actions | episodes | steps | expert return | random return | expert trained for | "
             "command |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for metadata_file in sorted(root.glob("**/data/metadata.json")):
        metadata = json.loads(metadata_file.read_text())
        made = metadata.get("generation", {})
        lines.append(
            f"| `{metadata['dataset_id']}` | {made.get('env_id', '?')} | {made.get('actions', '?')} | "
            f"{metadata['total_episodes']} | "
            f"{metadata['total_steps']} | {made.get('expert_return_mean', float('nan')):.1f} ± "
            f"{made.get('expert_return_std', float('nan')):.1f} | {made.get('random_return_mean', float('nan')):.1f} | "
            f"{trained_for(made)} | `{made.get('command', '?')}` |")
    return lines


def trained_for(made: dict) -> str:
    """The expert's training steps, or `unknown` where the recording command could not read them (a policy file
    recorded away from its training run)."""
    steps = made.get("expert_training_steps")
    return f"{steps} steps" if steps is not None else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO_ROOT / "experts", help="Minari root folder to list")
    with exit_on_user_error():
        print("\n".join(rows(parser.parse_args().root)))


if __name__ == "__main__":
    main()

"""Replay every shipped expert policy and confirm the return its dataset's metadata states:

    python scripts/check_experts.py [--episodes 10] [--output results/expert_check.md] [--datasets ID ...]

Each dataset under experts/ that has a policy.pt beside it (written by make_expert_data.py) is replayed as it
was recorded (mean or sampled actions, per the command in its metadata) for --episodes episodes, from reset
seeds the recording did not use. A replay passes when its mean return is within max(5% of the recorded mean,
3 standard errors of the recorded episodes) of the recorded mean. Prints a markdown table (also written to
--output) and exits with status 1 if any replay fails (2, with one error line, on bad arguments).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from envs.make import make_env
from errors import UserError, exit_on_user_error
from scripts.make_expert_data import POLICY_NAME, build_learner, load_policy, record_expert
from training.command_line import compose_config

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / "experts"

REPLAY_SEED = 10**7  # far from the recording seeds (seed * 10^4 + episode index)


@dataclass
class Replay:
    dataset_id: str
    actions: str
    recorded_mean: float
    recorded_std: float
    recorded_episodes: int
    returns: np.ndarray

    @property
    def tolerance(self) -> float:
        return max(0.05 * abs(self.recorded_mean), 3 * self.recorded_std / np.sqrt(self.recorded_episodes))

    @property
    def passed(self) -> bool:
        return abs(self.returns.mean() - self.recorded_mean) <= self.tolerance


def replay(dataset_folder: Path, episodes: int) -> Replay:
    """Rebuild the expert from the command that made the dataset and run its policy for `episodes` episodes."""
    metadata = json.loads((dataset_folder / "data" / "metadata.json").read_text())
    generation = metadata["generation"]
    overrides = generation["command"].split()[2:]  # after "python scripts/make_expert_data.py"
    cfg = compose_config("make_expert_data", overrides)
    sac = build_learner(cfg)
    load_policy(sac, dataset_folder / POLICY_NAME, cfg.env.name)
    env = make_env(cfg.env, absorbing=False, unit_actions=False)
    recorded = record_expert(cfg, sac, env, episodes, seed=REPLAY_SEED)
    return Replay(metadata["dataset_id"], cfg.expert.actions, generation["expert_return_mean"],
                  generation["expert_return_std"], metadata["total_episodes"],
                  np.array([episode.reward.sum() for episode in recorded]))


def table(replays: list[Replay], episodes: int, command: str) -> str:
    lines = [f"# Expert policies replayed ({episodes} episodes each)", "",
             f"Made on {datetime.now(UTC):%Y-%m-%d} with `{command}`. A replay passes when its mean return is "
             f"within max(5% of the recorded mean, 3 standard errors of the recorded episodes) of the recorded mean.",
             "",
             "| dataset | actions | recorded return | replayed return | replayed median [lowest] | tolerance | check |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in replays:
        lines.append(f"| `{r.dataset_id}` | {r.actions} | {r.recorded_mean:.1f} ± {r.recorded_std:.1f} | "
                     f"{r.returns.mean():.1f} ± {r.returns.std():.1f} | "
                     f"{np.median(r.returns):.1f} [{r.returns.min():.1f}] | {r.tolerance:.1f} | "
                     f"{'pass' if r.passed else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def chosen_folders(folders: list[Path], root: Path, dataset_ids: list[str]) -> list[Path]:
    """The folders of `dataset_ids` (paths under root, as ilbench/ant/expert-v3), in the order given."""
    by_id = {folder.relative_to(root).as_posix(): folder for folder in folders}
    unknown = [dataset_id for dataset_id in dataset_ids if dataset_id not in by_id]
    if unknown:
        raise UserError(f"--datasets {' '.join(unknown)}: no expert policy under {root} for that id; choose from "
                        f"{', '.join(by_id)}")
    return [by_id[dataset_id] for dataset_id in dataset_ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="Minari root folder to check")
    parser.add_argument("--episodes", type=int, default=10, help="episodes replayed per expert")
    parser.add_argument("--output", type=Path, help="also write the table to this markdown file")
    parser.add_argument("--datasets", nargs="+", metavar="ID", help="replay only these dataset ids, e.g. "
                                                                    "ilbench/ant/expert-v3 (default: all)")
    args = parser.parse_args()
    folders = sorted(policy.parent for policy in args.root.glob(f"**/{POLICY_NAME}"))
    with exit_on_user_error():
        if not folders:
            raise UserError(f"no {POLICY_NAME} under {args.root}; make the datasets with scripts/make_expert_data.py")
        if args.datasets:
            folders = chosen_folders(folders, args.root, args.datasets)
    replays = [replay(folder, args.episodes) for folder in folders]
    command = " ".join(["python scripts/check_experts.py", f"--episodes {args.episodes}",
                        *([f"--root {args.root}"] if args.root != DEFAULT_ROOT else []),
                        *([f"--datasets {' '.join(args.datasets)}"] if args.datasets else [])])
    report = table(replays, args.episodes, command)
    print(report)
    if args.output:
        args.output.write_text(report)
    sys.exit(0 if all(r.passed for r in replays) else 1)


if __name__ == "__main__":
    main()

"""How a run's learned reward ranks the expert's transitions against the agent's own:

    python scripts/inspect_reward.py RUN_DIR [--rows 4096] [--recent 10000] [--seed 0] [--output FILE]

Loads the run's last checkpoint (read only: nothing in RUN_DIR changes) and evaluates the method's reward
(`learned_reward`, the one the reward correlation uses) on up to --rows expert transitions, on the same
transitions with uniformly random actions (does the reward tell actions apart?), on as many drawn uniformly
from the replay memory (the data of every policy so far) and on the last --recent stored transitions (the
current policy's); with absorbing states also on the agent's latest steps into the absorbing state and on its
self-loop rows, which price ending an episode. Prints a markdown table of quantiles per group
and the probability that an expert transition outranks an agent one (the area under the ROC curve: 0.5 means
no preference; a reward that pays the agent for being itself gives less). Works for every method with a reward
model of single transitions (GAIL, AIRL, FAIRL, DRIL, RED, IQLearn, LSIQ; not GMMIL, whose MMD witness is relative
to the batch it scores) and every run directory that holds a checkpoint.pt.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from algorithms import algorithm_class
from algorithms.base import Algorithm
from data.memory import ReplayMemory
from data.transitions import Transitions
from envs.make import make_env
from errors import UserError, exit_on_user_error
from training.build import build_learner, seed_everything
from training.checkpoint import CHECKPOINT_NAME, load_checkpoint, restore

REPO_ROOT = Path(__file__).resolve().parent.parent

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def load_trained(run_dir: Path) -> tuple[DictConfig, Algorithm, ReplayMemory, int]:
    """The config, method and replay memory of run_dir's last checkpoint, and the step it was saved at."""
    config_path = run_dir / "config.yaml"
    if not config_path.exists() or not (run_dir / CHECKPOINT_NAME).exists():
        raise UserError(f"{run_dir} holds no config.yaml and {CHECKPOINT_NAME}; give the directory of a run "
                        f"that saved a checkpoint")
    cfg = OmegaConf.load(config_path)
    if algorithm_class(cfg.algorithm["class"]).reward_depends_on_batch:
        raise UserError(f"{cfg.algorithm.name}'s reward of a transition depends on the other rows scored with it, "
                        f"so groups of rows cannot be compared; this script inspects rewards of single transitions")
    checkpoint = load_checkpoint(run_dir)
    # A run resumed with a larger `steps` by an older version kept its first config.yaml, whose steps would size
    # the replay memory below the checkpoint's rows.
    cfg.steps = max(cfg.steps, checkpoint["progress"].step)
    sac, method, memory = build_learner(cfg, make_env(cfg.env, cfg.imitation.absorbing), torch.device("cpu"))
    progress = restore(checkpoint, sac, method, memory)
    if memory is None or len(memory) == 0:
        raise UserError(f"{run_dir} has no agent transitions (an offline run, or one saved before its first "
                        f"step); the comparison needs a run that collected data")
    return cfg, method, memory, progress.step


def absorbing_groups(memory: ReplayMemory, rows: int,
                     absorbing_flag: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, Transitions]:
    """The agent's latest terminations: steps into the absorbing state and its self-loop rows, where there are
    any (none without absorbing states). Together they price ending an episode, a self-loop reward r being worth
    r / (1 - gamma). `absorbing_flag` is the learner's (SoftActorCritic.absorbing_flag)."""
    stored = memory.layout.split(memory.rows[:len(memory)])
    in_absorbing = absorbing_flag(stored.obs).bool()
    groups = {"agent, step into absorbing": ~in_absorbing & absorbing_flag(stored.next_obs).bool(),
              "agent, absorbing self-loop": in_absorbing}
    latest = {name: torch.nonzero(selected).flatten() for name, selected in groups.items() if selected.any()}
    latest = {name: index[stored.step[index].argsort()][-rows:] for name, index in latest.items()}
    return {name: stored.map(lambda column, index=index: column[index]) for name, index in latest.items()}


def with_random_actions(batch: Transitions, absorbing_flag: Callable[[torch.Tensor], torch.Tensor]) -> Transitions:
    """`batch` with each action drawn uniformly from [-1, 1]^|A|, except at absorbing states, whose action is the
    fixed zero action. A reward that scores these rows like the originals does not tell actions apart."""
    random = torch.rand_like(batch.action) * 2 - 1
    return batch.replace(action=torch.where(absorbing_flag(batch.obs).bool()[:, None], batch.action, random))


def reward_groups(method: Algorithm, memory: ReplayMemory, rows: int, recent: int) -> dict[str, torch.Tensor]:
    """The learned reward on expert rows, the same rows with random actions, uniformly replayed agent rows, the
    most recent agent rows and, with absorbing states, the agent's terminations."""
    expert = method.expert.all()
    chosen = torch.randperm(len(expert))[:rows]
    expert_rows = expert.map(lambda column: column[chosen])
    recent = min(recent, len(memory))
    latest_rows = (memory.position - 1 - torch.randperm(recent)[:rows]) % memory.capacity
    replayed = memory.sample(min(rows, len(memory)))  # drawn first: the agent rows do not depend on the random actions
    groups = {"expert": expert_rows,
              "expert states, random actions": with_random_actions(expert_rows, method.sac.absorbing_flag),
              "agent, replayed": replayed,
              f"agent, last {recent} steps": memory.layout.split(memory.rows[latest_rows]),
              **absorbing_groups(memory, rows, method.sac.absorbing_flag)}
    with torch.no_grad():
        rewards = {name: method.learned_reward(batch) for name, batch in groups.items()}
    if any(reward is None for reward in rewards.values()):
        raise UserError("this run's method has no learned reward to inspect (SQIL, AdRIL, BC and SAC have none)")
    return {name: reward.flatten() for name, reward in rewards.items()}


def expert_outranks(expert: torch.Tensor, agent: torch.Tensor) -> float:
    """P(r_expert > r_agent) over all pairs, ties counted half (the Mann-Whitney AUC)."""
    difference = expert[:, None] - agent[None, :]
    return ((difference > 0).double().mean() + 0.5 * (difference == 0).double().mean()).item()


def report(title: str, rewards: dict[str, torch.Tensor]) -> str:
    header = "| rows | n | " + " | ".join(f"{q:.0%}" for q in QUANTILES) + " | mean | P(expert > these) |"
    lines = [title, "", header, "|" + "---|" * (header.count("|") - 1)]
    for name, reward in rewards.items():
        quantiles = torch.quantile(reward.double(), torch.tensor(QUANTILES, dtype=torch.float64))
        outranks = "–" if name == "expert" else f"{expert_outranks(rewards['expert'], reward):.2f}"
        lines.append(f"| {name} | {len(reward)} | " + " | ".join(f"{q:.3g}" for q in quantiles.tolist())
                     + f" | {reward.double().mean().item():.3g} | {outranks} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rows", type=int, default=4096, help="transitions per group (at most)")
    parser.add_argument("--recent", type=int, default=10000, help="how many of the latest agent steps form "
                                                                  "the current policy's group")
    parser.add_argument("--seed", type=int, default=0, help="for the choice of expert and replayed rows")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    with exit_on_user_error():
        if args.rows < 2 or args.recent < 2:
            raise UserError(f"--rows {args.rows} and --recent {args.recent} must both be at least 2")
        cfg, method, memory, step = load_trained(args.run_dir)
        seed_everything(args.seed)
        rewards = reward_groups(method, memory, args.rows, args.recent)
    command = (f"python scripts/inspect_reward.py {args.run_dir} --rows {args.rows} --recent {args.recent} "
               f"--seed {args.seed}")
    text = report(f"{cfg.algorithm.name} on {cfg.env.name}, seed {cfg.seed}: learned reward at the checkpoint "
                  f"of step {step} (`{command}`)", rewards)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()

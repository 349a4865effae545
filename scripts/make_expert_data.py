"""Make an expert dataset with this suite's own SAC:

    python scripts/make_expert_data.py env=<task> [steps=N] [expert.episodes=25]

Trains SAC on the true reward (resuming from its checkpoint in expert.work_dir if one is there, or skipping
training when that run already finished or expert.policy names an agent.pt or a shipped policy.pt), records
expert.episodes episodes of the policy (the final one, or with expert.select=best the one of the best evaluation),
acting with its mean action (expert.actions=deterministic) or with actions sampled from it (expert.actions=sampled,
as D4RL's expert data were recorded), and writes them, with the expert's and a random policy's mean returns and
how they were recorded in the metadata, as the Minari dataset env.dataset.id under experts/, with the policy's
actor weights (policy.pt) beside it. Re-recording a shipped expert without training:

    python scripts/make_expert_data.py env=hopper expert.actions=sampled \
        expert.policy=experts/ilbench/hopper/expert-v0/policy.pt expert.dataset_id=ilbench/hopper/expert-v1
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from algorithms.sac import SoftActorCritic
from data.sources import Episode
from data.writer import record_episodes, write_minari_dataset
from envs.absorbing import with_indicator
from envs.make import from_unit_actions, make_env
from errors import UserError, check_choice, exit_on_user_error
from training.checkpoint import load_checkpoint
from training.command_line import check_overrides
from training.logger import METRICS_NAME
from training.loop import AGENT_NAME, BEST_AGENT_NAME, train
from training.provenance import code_version

REPO_ROOT = Path(__file__).resolve().parent.parent

POLICY_NAME = "policy.pt"  # the recorded expert's actor weights, shipped next to its dataset
ACTION_DESCRIPTIONS = {"deterministic": "its policy's mean action", "sampled": "actions sampled from its policy"}
RANDOM_SEED = 10**6  # reset and action-sampling seed of the random-policy episodes
DATASET_ID = re.compile(r"([\w.-]+/)*[\w.-]+-v\d+")  # Minari's [namespace/]name-v<version>


@hydra.main(version_base=None, config_path="../conf", config_name="make_expert_data")
def main(cfg: DictConfig) -> None:
    with exit_on_user_error():
        make_expert_data(cfg)


def make_expert_data(cfg: DictConfig) -> Path:
    check_choice(cfg.expert, "select", ("final", "best"), prefix="expert")
    check_choice(cfg.expert, "actions", ("deterministic", "sampled"), prefix="expert")
    if cfg.seeds is not None:
        raise UserError("make_expert_data.py trains and records one expert: give seed=<s>, not seeds=[...]")
    if not DATASET_ID.fullmatch(str(cfg.expert.dataset_id)):
        raise UserError(f"expert.dataset_id={cfg.expert.dataset_id} is not a Minari dataset id; give "
                        "[namespace/]name-v<version>, e.g. ilbench/hopper/expert-v2")
    work_dir = Path(cfg.expert.work_dir)
    agent_file = Path(cfg.expert.policy) if cfg.expert.policy else train_expert(cfg, work_dir)
    if not agent_file.exists():
        raise UserError(f"expert.policy={agent_file} does not exist; give an agent.pt written by train.py or a "
                        f"{POLICY_NAME} shipped beside a dataset")
    sac = build_learner(cfg)
    load_policy(sac, agent_file, cfg.env.name)
    native_env = make_env(cfg.env, absorbing=False, unit_actions=False)
    episodes = record_expert(cfg, sac, native_env, cfg.expert.episodes, seed=cfg.seed * 10**4)
    native_env.action_space.seed(RANDOM_SEED)  # the random reference return is reproducible too
    random_returns = [ep.reward.sum() for ep in record_episodes(
        lambda obs: native_env.action_space.sample(), native_env, cfg.expert.random_episodes, seed=RANDOM_SEED)]
    returns = np.array([ep.reward.sum() for ep in episodes])
    generation = {
        "env_id": cfg.env.id, "env_kwargs": OmegaConf.to_container(cfg.env.kwargs) if cfg.env.kwargs else {},
        "expert_return_mean": float(returns.mean()), "expert_return_std": float(returns.std()),
        "random_return_mean": float(np.mean(random_returns)), "random_episodes": cfg.expert.random_episodes,
        "expert_training_steps": trained_steps(agent_file), "seed": cfg.seed, "actions": cfg.expert.actions,
        "policy_file": cfg.expert.policy, "code_version": code_version(),
        "command": "python scripts/make_expert_data.py " + " ".join(sys.argv[1:]),
    }
    root = Path(cfg.expert.output_root)
    root = root if root.is_absolute() else REPO_ROOT / root
    data = write_minari_dataset(
        root, cfg.expert.dataset_id, episodes, native_env, seed=cfg.seed * 10**4,
        random_return=generation["random_return_mean"], extra_metadata=generation,
        description=f"{len(episodes)} episodes of a SAC expert on {cfg.env.id}, acting with "
                    f"{ACTION_DESCRIPTIONS[cfg.expert.actions]}, made by this suite's scripts/make_expert_data.py")
    torch.save(sac.actor.state_dict(), data.parent / POLICY_NAME)
    print(f"wrote {data.parent}: expert return {returns.mean():.1f} +- {returns.std():.1f} over {len(episodes)} "
          f"episodes, random return {np.mean(random_returns):.1f}")
    return data


def build_learner(cfg: DictConfig) -> SoftActorCritic:
    """An untrained SAC learner of the sizes cfg gives for its env (the shape every expert policy has)."""
    env = make_env(cfg.env, absorbing=cfg.imitation.absorbing)
    return SoftActorCritic.from_config(cfg, env.observation_space.shape[0], env.action_space.shape[0])


def load_policy(sac: SoftActorCritic, policy_file: Path, env_name: str) -> None:
    """Load into sac an agent.pt (the whole learner, written by train.py) or a policy.pt (its actor alone, as
    shipped beside a dataset); only the actor acts when recording."""
    state = torch.load(policy_file, map_location="cpu")
    module = sac.actor if state.keys() == sac.actor.state_dict().keys() else sac
    try:
        module.load_state_dict(state)
    except RuntimeError:
        raise UserError(f"{policy_file} does not fit env={env_name} with this model config") from None


def expert_policy(cfg: DictConfig, sac: SoftActorCritic, native_env: gym.Env) -> Callable:
    """Observation of the unwrapped env -> the action of sac's actor that expert.actions asks for (its mean, or
    a sample of pi(.|s)), in the env's own action units."""
    deterministic = cfg.expert.actions == "deterministic"

    def policy(obs: np.ndarray) -> np.ndarray:
        obs = with_indicator(obs) if cfg.imitation.absorbing else obs
        return from_unit_actions(sac.act(obs, deterministic=deterministic), native_env.action_space)
    return policy


def record_expert(cfg: DictConfig, sac: SoftActorCritic, native_env: gym.Env, episodes: int,
                  seed: int) -> list[Episode]:
    """`episodes` episodes of the expert from reset seeds seed, seed + 1, ...; sampled actions draw from torch's
    generator seeded with `seed`, so a recording can be repeated exactly."""
    torch.manual_seed(seed)
    return record_episodes(expert_policy(cfg, sac, native_env), native_env, episodes, seed=seed)


def train_expert(cfg: DictConfig, work_dir: Path) -> Path:
    """SAC on the true reward in work_dir: resumed from its checkpoint if one exists, skipped if finished.
    Returns the policy expert.select asks for."""
    selected = work_dir / (BEST_AGENT_NAME if cfg.expert.select == "best" else AGENT_NAME)
    checkpoint = load_checkpoint(work_dir)
    if checkpoint is None and (work_dir / METRICS_NAME).exists():  # cut before its first checkpoint
        raise UserError(f"expert.work_dir={work_dir} holds an expert run that saved no checkpoint; delete that "
                        "directory or choose another expert.work_dir")
    if (work_dir / AGENT_NAME).exists() and checkpoint is not None and checkpoint["progress"].step >= cfg.steps:
        print(f"using the finished expert in {work_dir}")
        return selected
    with open_dict(cfg):
        cfg.resume = str(work_dir) if checkpoint is not None else None
    print(f"training a SAC expert in {work_dir}" + (" (resumed)" if checkpoint is not None else ""))
    train(cfg, work_dir)
    return selected


def trained_steps(agent_file: Path) -> int | None:
    """The steps the policy in agent_file was trained for: from its run's checkpoint or, for a policy.pt
    shipped beside a dataset, from that dataset's metadata (None without either)."""
    checkpoint = load_checkpoint(agent_file.parent)
    if checkpoint is None:
        shipped_metadata = agent_file.parent / "data" / "metadata.json"
        if not shipped_metadata.exists():
            return None
        return json.loads(shipped_metadata.read_text())["generation"].get("expert_training_steps")
    progress = checkpoint["progress"]
    if agent_file.name == BEST_AGENT_NAME:
        return max(progress.evaluations, key=lambda evaluation: evaluation["eval_return"])["step"]
    return progress.step


if __name__ == "__main__":
    with exit_on_user_error():
        check_overrides(sys.argv[1:], config_name="make_expert_data")
    main()

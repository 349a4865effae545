"""Building a run: config checks, environments, expert data, the SAC learner, the method, the replay memory,
and the state restored from a checkpoint when resuming. Scripts that rebuild a run's parts (inspect_reward,
train_all) use these too."""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import TextIO

import gymnasium as gym
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from algorithms import algorithm_class
from algorithms.base import Algorithm
from algorithms.sac import SoftActorCritic
from data.expert import ExpertData, load_expert
from data.memory import ReplayMemory
from envs.make import make_env
from errors import UserError
from training.checkpoint import load_checkpoint, restore
from training.config import check_config, check_resumed_settings, resolve_device
from training.evaluation import reference_returns
from training.logger import METRICS_NAME, MetricsLog
from training.provenance import record_provenance
from training.run import Progress, Run
from training.run_directory import hold_run_directory

logger = logging.getLogger(__name__)


def build_run(cfg: DictConfig, run_dir: Path) -> Run:
    check_config(cfg)
    method_class = algorithm_class(cfg.algorithm["class"])
    method_class.check_config(cfg)
    if not cfg.resume and (run_dir / METRICS_NAME).exists():  # a fresh run would overwrite them
        raise UserError(f"run directory {run_dir} already holds a run's {METRICS_NAME}; continue that run with "
                        f"resume={run_dir} (if it saved a checkpoint), or choose an empty directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = hold_run_directory(run_dir)  # before anything reads or rewrites the run's files
    try:
        return assemble_run(cfg, run_dir, lock)
    except BaseException:
        lock.close()
        raise


def assemble_run(cfg: DictConfig, run_dir: Path, lock: TextIO) -> Run:
    """The run's parts, and its state restored from its checkpoint when resuming, in a directory it holds."""
    if cfg.resume and (run_dir / "config.yaml").exists():  # before building anything the refusal would waste
        check_resumed_settings(OmegaConf.load(run_dir / "config.yaml"), cfg, run_dir)
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    absorbing = cfg.imitation.absorbing
    env = make_env(cfg.env, absorbing)
    eval_envs = [make_env(cfg.env, absorbing) for _ in range(cfg.evaluation.episodes)]
    sac, method, memory = build_learner(cfg, env, device)
    expert = method.expert
    references = reference_returns(cfg.env, expert.metadata if expert else None) if cfg.evaluation.normalise \
        else (0.0, 1.0)  # identity normalisation: scores are raw returns
    checkpoint = load_checkpoint(run_dir) if cfg.resume else None
    if cfg.resume and checkpoint is None:
        where = "" if Path(cfg.resume).resolve() == run_dir.resolve() else f" ({run_dir.name} of that group)"
        raise UserError(f"resume={cfg.resume} holds no checkpoint.pt{where}; give the directory of a run that saved "
                        f"one")
    progress = restore(checkpoint, sac, method, memory) if checkpoint else Progress()
    record_provenance(progress)
    wandb = {"project": cfg.logging.wandb_project, "config": OmegaConf.to_container(cfg, resolve=True)} \
        if cfg.logging.wandb else None
    log = MetricsLog(run_dir, cfg.logging.tensorboard, resume_step=progress.step if checkpoint else None,
                     wandb=wandb)
    record = OmegaConf.merge(cfg, {"resume": None})  # as a run started with these settings records them
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(record, resolve=True))  # a resume may extend `steps`
    logger.info(f"{cfg.algorithm.name} on {cfg.env.name}, seed {cfg.seed}: run directory {run_dir}"
                + (f" (resumed at step {progress.step})" if checkpoint else ""))
    episode = checkpoint.get("episode_in_progress") if checkpoint else None
    return Run(cfg, run_dir, method, sac, env, eval_envs, memory, references, log, progress, lock, episode)


def build_learner(cfg: DictConfig, env: gym.Env, device: torch.device
                  ) -> tuple[SoftActorCritic, Algorithm, ReplayMemory | None]:
    """The untrained SAC learner, method (with its expert data) and replay memory of a run on env: the parts
    a checkpoint restores."""
    obs_size, action_size = env.observation_space.shape[0], env.action_space.shape[0]
    expert = load_task_expert(cfg, env, device)
    sac = SoftActorCritic.from_config(cfg, obs_size, action_size).to(device)
    method_class = algorithm_class(cfg.algorithm["class"])
    method = method_class(cfg, sac, expert)
    memory = None
    if method_class.interacts_with_env and not cfg.imitation.offline:
        memory = ReplayMemory(min(cfg.memory.size, cfg.steps + cfg.steps // 2), obs_size, action_size, device)
    return sac, method, memory


def load_task_expert(cfg: DictConfig, env: gym.Env, device: torch.device) -> ExpertData | None:
    """The expert data of the run's method, checked against the task's env (None if the method needs none)."""
    if not algorithm_class(cfg.algorithm["class"]).needs_expert_data(cfg):
        return None
    raw_obs = gym.spaces.Box(-np.inf, np.inf, (env.observation_space.shape[0] - int(cfg.imitation.absorbing),))
    return load_expert(cfg.env, cfg.imitation, raw_obs, env.unwrapped.action_space, cfg.seed, device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

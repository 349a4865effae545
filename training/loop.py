"""The training loop shared by every method: act, store, update, evaluate, log, checkpoint.

It knows methods only through the hooks of `algorithms.base.Algorithm`; it never looks at a method's name.
"""
from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from algorithms import algorithm_class
from algorithms.base import Algorithm
from algorithms.sac import SoftActorCritic
from data.expert import ExpertData, load_expert
from data.memory import ReplayMemory
from envs.absorbing import absorbing_state
from envs.make import make_env
from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import check_config, resolve_device
from training.errors import UserError
from training.evaluation import Episodes, evaluate, normalised_score, reference_returns
from training.logger import METRICS_NAME, MetricsLog
from training.plots import plot_run
from training.provenance import code_version


logger = logging.getLogger(__name__)
AGENT_NAME = "agent.pt"  # the trained SAC learner's weights alone, for reuse (e.g. as an expert)
BEST_AGENT_NAME = "agent_best.pt"  # the weights at the evaluation with the highest mean return so far


class NonFiniteLossError(RuntimeError):
    """A loss or parameter became NaN/inf; the run stops and keeps its last good checkpoint."""


@dataclass
class Progress:
    """Loop counters saved in checkpoints."""

    step: int = 0
    episodes: int = 0
    evaluations: list[dict] = field(default_factory=list)
    recent_returns: list[float] = field(default_factory=list)  # training episodes since the last log row
    code_version: str = ""  # the code that ran it: "a + b" when it was resumed with other code
    torch_threads: str = ""  # likewise; a seed repeats bit for bit only with the same thread count


@dataclass
class Run:
    """Everything one run builds before its first step."""

    cfg: DictConfig
    run_dir: Path
    method: Algorithm
    sac: SoftActorCritic
    env: gym.Env
    eval_envs: list[gym.Env]
    memory: ReplayMemory | None
    references: tuple[float, float]  # (random, expert) returns
    log: MetricsLog
    progress: Progress


def train(cfg: DictConfig, run_dir: Path) -> float:
    """Train one method on one task; returns the mean normalised evaluation score (what sweepers maximise)."""
    run = build_run(cfg, Path(run_dir))
    try:
        if run.progress.step == 0 and not run.progress.evaluations:
            run.method.pretrain(lambda step, metrics: write_row(run, step, metrics))
            if run.cfg.imitation.mix_expert_data == "prefill_memory" and run.memory is not None:
                run.memory.extend(run.method.prefill_rows())
        if run.method.interacts_with_env:
            run_steps(run)
        if not run.progress.evaluations or run.progress.evaluations[-1]["step"] != run.progress.step:
            record_evaluation(run)
    except NonFiniteLossError as error:
        raise UserError(f"{error} at step {run.progress.step}; the run stopped, its metrics and last good "
                        f"checkpoint are kept in {run.run_dir}. Lower the learning rates or check the data") from None
    finally:
        run.log.close()
    save_run(run)
    torch.save(run.sac.state_dict(), run.run_dir / AGENT_NAME)
    return finish(run)


def build_run(cfg: DictConfig, run_dir: Path) -> Run:
    check_config(cfg)
    method_class = algorithm_class(cfg.algorithm["class"])
    method_class.check_config(cfg)
    if not cfg.resume and (run_dir / METRICS_NAME).exists():  # a fresh run would overwrite them
        raise UserError(f"run directory {run_dir} already holds a run's {METRICS_NAME}; continue that run with "
                        f"resume={run_dir} (if it saved a checkpoint), or choose an empty directory")
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    absorbing = cfg.imitation.absorbing
    env = make_env(cfg.env, absorbing)
    eval_envs = [make_env(cfg.env, absorbing) for _ in range(cfg.evaluation.episodes)]
    sac, method, memory = build_learner(cfg, env, device)
    expert = method.expert
    references = reference_returns(cfg.env, expert.metadata if expert else None) if cfg.evaluation.normalise \
        else (0.0, 1.0)  # identity normalisation: scores are raw returns
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = load_checkpoint(run_dir) if cfg.resume else None
    if cfg.resume and checkpoint is None:
        raise UserError(f"resume={cfg.resume} holds no checkpoint.pt; give the directory of a run that saved one")
    progress = restore(checkpoint, sac, method, memory) if checkpoint else Progress()
    record_provenance(progress)
    log = MetricsLog(run_dir, cfg.logging.tensorboard, resume_step=progress.step if checkpoint else None)
    if not checkpoint:
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    logger.info(f"{cfg.algorithm.name} on {cfg.env.name}, seed {cfg.seed}: run directory {run_dir}"
                + (f" (resumed at step {progress.step})" if checkpoint else ""))
    return Run(cfg, run_dir, method, sac, env, eval_envs, memory, references, log, progress)


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


class Collector:
    """Steps the training env with the stochastic policy and stores each transition in the replay memory."""

    def __init__(self, run: Run):
        self.run, self.env, self.memory = run, run.env, run.memory
        self.obs, _ = self.env.reset(seed=run.cfg.seed + run.progress.step)
        self.episode_return = 0.0
        run.method.episode_started(run.progress.episodes)

    def step(self) -> float | None:
        """One environment step; returns the episode's return when the step ended it."""
        action = self.run.sac.act(self.obs)
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        stored_reward = self.run.method.collection_reward(self.obs, action, reward)
        store_transition(self.memory, self.obs, action, stored_reward, next_obs, terminated, truncated,
                         self.run.cfg.imitation.absorbing, self.run.progress.step + 1)
        self.episode_return += reward
        self.obs = next_obs
        if not (terminated or truncated):
            return None
        finished, self.episode_return = self.episode_return, 0.0
        self.obs = self.env.reset()[0]
        self.run.progress.episodes += 1
        self.run.method.episode_started(self.run.progress.episodes)
        self.run.progress.recent_returns.append(finished)
        return finished


def run_steps(run: Run) -> None:
    """Steps from the last checkpoint (or 0) to cfg.steps, with updates, logs, evaluations and checkpoints.

    Online, a step is one environment step (updates begin at training.start); offline (imitation.offline),
    a step is one update on expert data alone and the environment is only used for evaluation.
    """
    cfg, progress, expert = run.cfg, run.progress, run.method.expert
    collector = None if cfg.imitation.offline else Collector(run)
    start = 1 if collector is None else cfg.training.start
    metrics = {}
    bar = tqdm(total=cfg.steps, initial=progress.step, disable=not cfg.logging.progress_bar, unit="step",
               dynamic_ncols=True)
    for step in range(progress.step + 1, cfg.steps + 1):
        if collector is not None and (finished := collector.step()) is not None:
            bar.set_postfix(last_return=f"{finished:.1f}", refresh=False)
        progress.step = step
        if step >= start and step % cfg.training.interval == 0:
            agent_batch = run.memory.sample(cfg.training.batch_size) if collector is not None else None
            expert_batch = expert.sample(cfg.training.batch_size) if expert is not None else None
            metrics = run.method.update(agent_batch, expert_batch)
        if step % cfg.logging.interval == 0:
            write_row(run, step, metrics | episode_summary(progress))
        if step % cfg.evaluation.interval == 0:
            record_evaluation(run)
        if step % cfg.checkpoint.interval == 0:
            save_run(run)
        bar.update(1)
    bar.close()


def store_transition(memory: ReplayMemory, obs, action, reward, next_obs, terminated: bool, truncated: bool,
                     absorbing: bool, step: int = 0) -> None:
    """A termination with absorbing states on becomes a step into the absorbing state plus its self-loop
    (reward 0, a stand-in that reward-learning methods relabel); time-limit cuts are stored as plain
    bootstrapping rows (never as terminal)."""
    timeout = truncated and not terminated
    if terminated and absorbing:
        state = absorbing_state(len(obs))
        memory.append(obs, action, reward, state, terminal=False, timeout=False, step=step)
        memory.append(state, np.zeros_like(action), 0.0, state, terminal=False, timeout=False, step=step)
    else:
        memory.append(obs, action, reward, next_obs, terminal=terminated, timeout=timeout, step=step)


def episode_summary(progress: Progress) -> dict[str, float]:
    if not progress.recent_returns:
        return {}
    summary = {"train_return": float(np.mean(progress.recent_returns)), "episodes": progress.episodes}
    progress.recent_returns.clear()
    return summary


def write_row(run: Run, step: int, metrics: dict, check_finite: bool = True) -> None:
    """Log one metrics row; non-finite training metrics stop the run before anything is checkpointed."""
    values = {key: float(value) for key, value in metrics.items()}
    bad = [key for key, value in values.items() if not np.isfinite(value)] if check_finite else []
    run.log.write(step, values)
    if bad:
        raise NonFiniteLossError(f"non-finite {', '.join(bad)}")


def record_evaluation(run: Run) -> None:
    """Evaluate, and for methods with a reward model correlate its reward with the true one on the
    evaluation episodes (the agent's own): per transition, and per episode return as IQ-Learn's authors do."""
    episodes = evaluate(lambda obs: run.sac.act(obs, deterministic=True), run.eval_envs, seed=run.cfg.seed + 10**6)
    returns = episodes.returns
    scores = normalised_score(returns, *run.references)
    result = {"step": run.progress.step, "eval_return": float(returns.mean()),
              "eval_return_std": float(returns.std()), "eval_score": float(scores.mean())}
    with torch.no_grad():
        learned = run.method.learned_reward(episodes.transitions.to(next(run.sac.parameters()).device))
    if learned is not None:
        result |= reward_correlations(learned.cpu(), episodes)
    if run.cfg.evaluation.stochastic:
        result |= stochastic_evaluation(run)
    if all(result["eval_return"] > earlier["eval_return"] for earlier in run.progress.evaluations):
        torch.save(run.sac.state_dict(), run.run_dir / BEST_AGENT_NAME)
    run.progress.evaluations.append(result)
    write_row(run, result["step"], {k: v for k, v in result.items() if k != "step"}, check_finite=False)
    plot_run(run.run_dir, f"{run.cfg.algorithm.name} on {run.cfg.env.name} (seed {run.cfg.seed})")


def stochastic_evaluation(run: Run) -> dict[str, float]:
    """The sampled policy's returns from the same start states (LS-IQ's authors log these beside the deterministic
    ones). Its draws come from a forked random state, so turning it on leaves the run itself unchanged."""
    with torch.random.fork_rng():
        returns = evaluate(run.sac.act, run.eval_envs, seed=run.cfg.seed + 10**6).returns
    return {"eval_return_stochastic": float(returns.mean()),
            "eval_score_stochastic": float(normalised_score(returns, *run.references).mean())}


def reward_correlations(learned: torch.Tensor, episodes: Episodes) -> dict[str, float]:
    """Pearson's r of a learned reward with the true one, over transitions (`reward_correlation`) and over
    the episodes' returns (`return_correlation`, the number IQ-Learn's authors report)."""
    learned_returns = torch.zeros(len(episodes.returns), dtype=torch.float64).index_add_(
        0, episodes.episode, learned.double())
    return {"reward_correlation": pearson_correlation(learned, episodes.transitions.reward),
            "return_correlation": pearson_correlation(learned_returns, torch.as_tensor(episodes.returns))}


def pearson_correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's r; NaN when either side is constant (the correlation is then undefined)."""
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    denominator = (x.norm() * y.norm()).item()
    return (x @ y).item() / denominator if denominator > 0 else float("nan")


def save_run(run: Run) -> None:
    parameters = torch.cat([p.detach().reshape(-1) for p in run.sac.parameters()])
    if not torch.isfinite(parameters).all():
        raise NonFiniteLossError("non-finite network parameters")
    save_checkpoint(run.run_dir, {
        "progress": run.progress, "sac": run.sac.state_dict(), "optimisers": run.sac.optimiser_state(),
        "method": run.method.state_dict(), "memory": run.memory.state_dict() if run.memory else None,
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    })


def restore(checkpoint: dict, sac: SoftActorCritic, method: Algorithm, memory: ReplayMemory | None) -> Progress:
    sac.load_state_dict(checkpoint["sac"])
    sac.load_optimiser_state(checkpoint["optimisers"])
    method.load_state_dict(checkpoint["method"])
    if memory is not None:
        memory.load_state_dict(checkpoint["memory"])
    random.setstate(checkpoint["rng"]["python"])
    np.random.set_state(checkpoint["rng"]["numpy"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    return checkpoint["progress"]


def record_provenance(progress: Progress) -> None:
    """Note the code version and torch thread count that start (or resume) the run, at the start: the code may
    change later."""
    progress.code_version = appended(progress.code_version, code_version())
    progress.torch_threads = appended(progress.torch_threads, str(torch.get_num_threads()))


def appended(history: str, entry: str) -> str:
    """`history` ("a + b") with `entry` added at the end, unless it already holds it."""
    if not history:
        return entry
    return history if entry in history.split(" + ") else f"{history} + {entry}"


def finish(run: Run) -> float:
    """Write result.json; the score is the mean over evaluations of the mean normalised return."""
    evaluations = run.progress.evaluations
    score = float(np.mean([e["eval_score"] for e in evaluations]))
    result = {"score": score, "final_score": evaluations[-1]["eval_score"],
              "final_return": evaluations[-1]["eval_return"], "steps": run.progress.step,
              "algorithm": run.cfg.algorithm.name, "env": run.cfg.env.name, "seed": run.cfg.seed,
              "reference_returns": {"random": run.references[0], "expert": run.references[1]},
              "code_version": run.progress.code_version, "torch_threads": run.progress.torch_threads,
              "evaluations": evaluations}
    (run.run_dir / "result.json").write_text(json.dumps(result, indent=2))
    logger.info(f"score {score:.3f} (mean normalised evaluation score), final return {result['final_return']:.1f}")
    return score

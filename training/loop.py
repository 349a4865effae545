"""The training loop shared by every method: act, store, update, evaluate, log, checkpoint.

It knows methods only through the hooks of `algorithms.base.Algorithm`; it never looks at a method's name.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from algorithms.bc import pretrain_actor
from data.memory import ReplayMemory
from envs.absorbing import absorbing_state
from envs.state import environment_state, restore_environment_state
from training.checkpoint import NonFiniteLossError, save_run
from training.evaluation import evaluate, normalised_score
from training.plots import plot_run
from training.reward_correlation import reward_correlations
from training.run import Progress, Run
from training.seed_group import SeedGroup

logger = logging.getLogger(__name__)
AGENT_NAME = "agent.pt"  # the trained SAC learner's weights alone, for reuse (e.g. as an expert)
BEST_AGENT_NAME = "agent_best.pt"  # the weights at the evaluation with the highest mean return so far


def train(cfg: DictConfig, run_dir: Path) -> float:
    """Train one method on one task, for one seed or, with `seeds`, for each of several in one process (each in
    run_dir/seed_<s>); returns the mean normalised evaluation score (a group's: its mean over seeds), the value
    sweepers maximise."""
    group = SeedGroup(cfg, Path(run_dir))
    try:
        group.for_each(prepare)
        if group.runs[0].method.interacts_with_env:
            run_steps(group)
        group.for_each(final_evaluation)
        scores = group.for_each(save_results)
    finally:
        group.close()  # last: it releases the run directories
    return group.score(scores)


def prepare(run: Run) -> None:
    """A fresh run's pre-training, and the expert rows it prefills its replay memory with."""
    if run.progress.step == 0 and not run.progress.evaluations:
        pretrain(run)
        if run.cfg.imitation.mix_expert_data == "prefill_memory" and run.memory is not None:
            run.memory.extend(run.method.prefill_rows())


def final_evaluation(run: Run) -> None:
    if not run.progress.evaluations or run.progress.evaluations[-1]["step"] != run.progress.step:
        record_evaluation(run)


def save_results(run: Run) -> float:
    save_run(run)
    torch.save(run.sac.state_dict(), run.run_dir / AGENT_NAME)
    return finish(run)


def pretrain(run: Run) -> None:
    """Before the first environment step: BC pre-training of the actor (bc_pretraining.iterations), then
    whatever the method fits to the expert data alone."""
    def log(step: int, metrics: dict) -> None:
        write_row(run, step, metrics)

    if run.cfg.bc_pretraining.iterations > 0:
        pretrain_actor(run.sac.actor, run.method.expert_data(), run.cfg.bc_pretraining,
                       run.cfg.training.batch_size, run.cfg.logging, log, run.sac.precision)
    run.method.pretrain(log)


class Collector:
    """Steps the training env with the stochastic policy and stores each transition in the replay memory.

    A resumed run continues the episode its checkpoint was taken in, with the environment's saved state, so
    that it repeats an uninterrupted run exactly; for a task whose state cannot be saved it starts a new one.
    """

    def __init__(self, run: Run):
        self.run, self.env, self.memory = run, run.env, run.memory
        self.obs, _ = self.env.reset(seed=run.cfg.seed + run.progress.step)
        self.episode_return = 0.0
        episode = run.episode_in_progress
        if episode is not None and episode["environment"] is not None:
            restore_environment_state(self.env, episode["environment"])
            self.obs, self.episode_return = episode["obs"], episode["episode_return"]
            return
        if run.progress.step > 0:
            logger.warning(f"the state of env={run.cfg.env.name} cannot be saved, so the resumed run starts a new "
                           f"episode where the interrupted one was mid-episode; its metrics will differ from an "
                           f"uninterrupted run's from here on")
        run.method.episode_started(run.progress.episodes)

    def state(self) -> dict:
        """The episode in progress, for a checkpoint."""
        return {"environment": environment_state(self.env), "obs": self.obs.copy(),
                "episode_return": self.episode_return}

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


class StepLoop:
    """One run's side of the training loop: a step is an environment step (with an update from
    training.start on) or, offline (imitation.offline), an update on expert data alone."""

    def __init__(self, run: Run):
        self.run = run
        self.collector = None if run.cfg.imitation.offline else Collector(run)
        self.start = 1 if self.collector is None else run.cfg.training.start
        self.metrics: dict = {}
        self.last_return: float | None = None

    def advance_to(self, step: int) -> None:
        """Step `step`, with its update, log row, evaluation and checkpoint as their intervals say (nothing if the
        run is there already: a group resumed from checkpoints saved one after another)."""
        run, cfg, progress, expert = self.run, self.run.cfg, self.run.progress, self.run.method.expert
        if progress.step >= step:
            return
        if self.collector is not None and (finished := self.collector.step()) is not None:
            self.last_return = finished
        progress.step = step
        if step >= self.start and step % cfg.training.interval == 0:
            agent_batch = run.memory.sample(cfg.training.batch_size) if self.collector is not None else None
            expert_batch = expert.sample(cfg.training.batch_size) if expert is not None else None
            self.metrics = run.method.update(agent_batch, expert_batch)
        if step % cfg.logging.interval == 0:
            write_row(run, step, self.metrics | episode_summary(progress))
        if step % cfg.evaluation.interval == 0:
            record_evaluation(run)
        if step % cfg.checkpoint.interval == 0:
            save_run(run, self.collector.state() if self.collector is not None else None)


def run_steps(group: SeedGroup) -> None:
    """Every run from its last checkpoint (or 0) to cfg.steps, the seeds in turn at each step."""
    steps, loops = group.cfg.steps, group.for_each(StepLoop)
    if not group.running():  # every seed failed in pre-training
        return
    first = min(run.progress.step for run in group.running()) + 1
    bar = tqdm(total=steps, initial=first - 1, disable=not group.cfg.logging.progress_bar, unit="step",
               dynamic_ncols=True)
    for step in range(first, steps + 1):
        if not group.running():
            break
        group.for_each(lambda run, step=step: loops[run.run_dir].advance_to(step))
        bar.set_postfix(progress_summary([loops[run.run_dir] for run in group.running()]), refresh=False)
        bar.update(1)
    bar.close()


def progress_summary(loops: list[StepLoop]) -> dict[str, str]:
    """The progress bar's latest evaluation score and training-episode return (means over seeds)."""
    summary = {}
    scores = [loop.run.progress.evaluations[-1]["eval_score"] for loop in loops if loop.run.progress.evaluations]
    if scores:
        summary["eval_score"] = f"{np.mean(scores):.2f}"
    returns = [loop.last_return for loop in loops if loop.last_return is not None]
    if returns:
        summary["last_return"] = f"{np.mean(returns):.1f}"
    return summary


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
              "eval_return_std": float(returns.std()), "eval_score": float(scores.mean()),
              "eval_terminated": float(episodes.transitions.terminal.sum()) / len(returns)}
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
    logger.info((f"seed {run.cfg.seed}: " if run.in_group else "") + evaluation_line(result))
    plot_run(run.run_dir, f"{run.cfg.algorithm.name} on {run.cfg.env.name} (seed {run.cfg.seed})")


def evaluation_line(result: dict[str, float]) -> str:
    """One log line per evaluation: step, mean return +- std, normalised score, the share of episodes that ended
    by termination (rather than the time limit), and the reward correlations (methods with a reward model) and
    the sampled policy's score (evaluation.stochastic) when there are any."""
    line = (f"step {result['step']}: return {result['eval_return']:.1f} ± {result['eval_return_std']:.1f}, "
            f"score {result['eval_score']:.3f}, {result['eval_terminated']:.0%} terminated")
    extras = {"reward_correlation": "reward corr.", "return_correlation": "return corr.",
              "eval_score_stochastic": "sampled-policy score"}
    return line + "".join(f", {name} {result[key]:.3f}" for key, name in extras.items() if key in result)


def stochastic_evaluation(run: Run) -> dict[str, float]:
    """The sampled policy's returns from the same start states (LS-IQ's authors log these beside the deterministic
    ones). Its draws come from a forked random state, so turning it on leaves the run itself unchanged."""
    with torch.random.fork_rng():
        returns = evaluate(run.sac.act, run.eval_envs, seed=run.cfg.seed + 10**6).returns
    return {"eval_return_stochastic": float(returns.mean()),
            "eval_score_stochastic": float(normalised_score(returns, *run.references).mean())}


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

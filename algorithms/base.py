"""The interface between the training loop and a method, and the shared behavioural-cloning machinery.

The loop only ever calls these hooks, so a new method is one subclass plus one config file:

    check_config(cfg)          refuse incompatible options before any work (classmethod)
    pretrain(log)              before the first environment step (BC pre-training, reward-model fitting)
    collection_reward, episode_started    rewards computed while collecting (PWIL)
    prefill_rows()             expert rows for imitation.mix_expert_data=prefill_memory
    update(agent, expert)      one update: `update_reward_model` (e.g. a discriminator step), then
                               `learner_update` (mixing, `relabel` with the method's rewards, BC auxiliary
                               step, SAC); agent is None in offline mode, where only expert data is used
    learned_reward(batch)      the method's reward for transitions, if it has one (for the reward correlation)
    state_dict / load_state_dict   everything the method learns besides the SAC learner, for checkpoints

and asks `needs_expert_data(cfg)`, and reads four class attributes: whether the method needs expert actions,
whether it takes environment steps, whether it can learn offline from expert data alone, and which ways of mixing
expert data into SAC batches it supports.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from data.expert import ExpertData
from data.transitions import Transitions
from models.actor import SquashedGaussianActor
from models.precision import precision_context
from training.config import check_choice
from training.errors import UserError

if TYPE_CHECKING:
    from algorithms.sac import SoftActorCritic

MIX_MODES = ("none", "mixed_batch", "prefill_memory")
LogFn = Callable[[int, dict[str, torch.Tensor | float]], None]  # (environment step, metrics) -> one metrics row


class Algorithm:
    """A method trained with the shared SAC learner. The base behaviour is SAC on the stored (true) reward."""

    needs_expert_actions = False
    interacts_with_env = True
    supports_offline = False
    expert_mixing: tuple[str, ...] = ()  # which imitation.mix_expert_data modes besides none the method supports
    reward_depends_on_batch = False  # True where a transition's reward is relative to the rows scored with it

    def __init__(self, cfg: DictConfig, sac: "SoftActorCritic", expert: ExpertData | None):
        self.cfg, self.sac, self.expert = cfg, sac, expert

    @classmethod
    def needs_expert_data(cls, cfg: DictConfig) -> bool:
        return True

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        """Raise UserError for options this method cannot honour."""
        needs_actions = cls.needs_expert_actions or cfg.imitation.bc_aux_loss or cfg.bc_pretraining.iterations > 0
        if cfg.imitation.state_only and needs_actions:
            raise UserError(f"algorithm={cfg.algorithm.name} with BC pre-training or the BC auxiliary loss needs "
                            f"expert actions; set imitation.state_only=false")
        check_choice(cfg.imitation, "mix_expert_data", MIX_MODES, prefix="imitation")
        if cfg.imitation.mix_expert_data not in ("none", *cls.expert_mixing):
            raise UserError(f"algorithm={cfg.algorithm.name} does not support imitation.mix_expert_data="
                            f"{cfg.imitation.mix_expert_data}; use " + " or ".join(("none", *cls.expert_mixing)))
        if cfg.imitation.mix_expert_data != "none" and cfg.imitation.state_only:
            raise UserError(f"imitation.mix_expert_data={cfg.imitation.mix_expert_data} puts expert actions into "
                            f"SAC batches, which state-only imitation withholds; set one of them off")
        if cfg.imitation.offline and not cls.supports_offline:
            raise UserError(f"algorithm={cfg.algorithm.name} cannot learn offline; set imitation.offline=false or "
                            f"use an offline-capable method (BC, IQLearn, LSIQ)")

    def pretrain(self, log: LogFn) -> None:
        """Before any environment step: BC pre-training of the actor when bc_pretraining.iterations > 0."""
        if self.cfg.bc_pretraining.iterations > 0:
            pretrain_actor(self.sac.actor, self.expert, self.cfg.bc_pretraining, self.cfg.training.batch_size,
                           self.cfg.logging, log, self.sac.precision)

    def update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """One update: the method's reward model on the unmixed batches, then the learner."""
        return self.update_reward_model(agent, expert) | self.learner_update(agent, expert)

    def update_reward_model(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """One step of whatever reward model the method learns (none by default)."""
        return {}

    def relabel(self, batch: Transitions, expert: Transitions | None) -> Transitions:
        """The SAC batch with the method's rewards (given the current expert batch); the base method keeps the
        stored reward."""
        return batch

    def collection_reward(self, obs: np.ndarray, action: np.ndarray, reward: float) -> float:
        """The reward stored with a newly collected transition: the environment's, unless the method computes
        its own at collection time."""
        return reward

    def episode_started(self, episodes_completed: int) -> None:
        """Called at every reset of the training environment, with the number of training episodes ended so far."""

    def prefill_rows(self) -> torch.Tensor:
        """Expert rows copied into the replay memory for imitation.mix_expert_data=prefill_memory (weights 1)."""
        rows = self.expert.rows.clone()
        rows[:, self.expert.layout.columns["weight"]] = 1.0
        return rows

    def learner_update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """Expert mixing (imitation.mix_expert_data=mixed_batch), relabelling, the optional BC auxiliary step,
        then the SAC update."""
        batch = mixed_batch(agent, expert) if self.cfg.imitation.mix_expert_data == "mixed_batch" else agent
        batch = self.relabel(batch, expert)
        return self.bc_auxiliary_step(expert) | self.sac.update(batch)

    def bc_auxiliary_step(self, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """With imitation.bc_aux_loss, one BC step on the expert batch with the main actor optimiser."""
        if not self.cfg.imitation.bc_aux_loss:
            return {}
        with self.sac.autocast():
            loss = bc_loss(self.sac.actor, expert)
        self.sac.actor_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.sac.actor_optimiser.step()
        return {"bc_loss": loss.detach()}

    def learned_reward(self, transitions: Transitions) -> torch.Tensor | None:
        """The method's reward for each transition (None without a reward model); evaluations report its
        Pearson correlation with the true reward on the agent's own transitions."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def mixed_batch(agent: Transitions, expert: Transitions) -> Transitions:
    """The agent batch with its first half (every field) replaced by the first half of the expert batch."""
    half = len(agent) // 2
    return expert.map(lambda e, a: torch.cat([e[:half], a[half:]]), agent)


def bc_loss(actor: SquashedGaussianActor, expert: Transitions) -> torch.Tensor:
    """Weighted negative log-likelihood of the expert actions under the tanh-Gaussian policy (§1.5)."""
    return (expert.weight * -actor.log_prob(expert.obs, expert.action)).mean()


def shuffled_batches(expert: ExpertData, batch_size: int) -> Iterator[Transitions]:
    """Endless epochs over the expert rows in a fresh random order, dropping each epoch's last partial batch."""
    batch_size = min(batch_size, len(expert))
    while True:
        order = torch.randperm(len(expert), device=expert.rows.device)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield expert.layout.split(expert.rows[order[start:start + batch_size]])


def fit_to_expert_data(parameters, batch_loss: Callable[[Transitions], torch.Tensor], expert: ExpertData,
                       iterations: int, learning_rate: float, weight_decay: float, batch_size: int,
                       logging: DictConfig, log: LogFn, name: str, precision: str) -> None:
    """`iterations` AdamW steps on `batch_loss` of shuffled expert batches (endless epochs), logging `name`
    every logging.interval iterations, with a progress bar if logging.progress_bar; losses in `precision`.

    Pre-training comes before the first environment step, so its rows are logged at steps iteration - iterations
    (up to 0), with the iteration itself in `pretraining_iteration`: steps stay in order, and a resumed run,
    which drops the rows logged after its checkpoint's step, keeps them."""
    optimiser = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay)
    batches = shuffled_batches(expert, batch_size)
    bar = tqdm(range(1, iterations + 1), desc=name, unit="it", disable=not logging.progress_bar, dynamic_ncols=True)
    for iteration in bar:
        with precision_context(precision, expert.rows.device):
            loss = batch_loss(next(batches))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if iteration % logging.interval == 0 or iteration == iterations:
            log(iteration - iterations, {name: loss.detach(), "pretraining_iteration": iteration})
            bar.set_postfix({name: f"{loss.item():.3f}"}, refresh=False)


def pretrain_actor(actor: SquashedGaussianActor, expert: ExpertData, bc_cfg: DictConfig, batch_size: int,
                   logging: DictConfig, log: LogFn, precision: str) -> None:
    """BC on the expert data with its own AdamW optimiser; only the actor is trained."""
    fit_to_expert_data(actor.parameters(), lambda batch: bc_loss(actor, batch), expert, bc_cfg.iterations,
                       bc_cfg.learning_rate, 0.0, batch_size, logging, log, "bc_loss", precision)

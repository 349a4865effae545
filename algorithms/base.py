"""The interface between the training loop and a method, and the shared behavioural-cloning machinery.

The loop only ever calls these hooks, so a new method is one subclass plus one config file:

    check_config(cfg)          refuse incompatible options before any work (classmethod)
    pretrain(log)              before the first environment step (BC pre-training, reward-model fitting)
    update(agent, expert)      one update: the method's own models, then the SAC learner on relabelled data
                               (agent is None in offline mode, where only expert data is used); methods
                               override `relabel` (their rewards) or `learner_update` (their own critic loss)
    learned_reward(batch)      the method's reward for transitions, if it has one (for the reward correlation)
    state_dict / load_state_dict   everything the method learns besides the SAC learner, for checkpoints

and asks `needs_expert_data(cfg)`, and reads three class attributes: whether the method needs expert actions,
whether it takes environment steps, and whether it can learn offline from expert data alone.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from data.expert import ExpertData
from data.transitions import Transitions
from models.actor import SquashedGaussianActor
from training.errors import UserError

if TYPE_CHECKING:
    from algorithms.sac import SoftActorCritic

LogFn = Callable[[int, dict[str, torch.Tensor]], None]


class Algorithm:
    """A method trained with the shared SAC learner. The base behaviour is SAC on the stored (true) reward."""

    needs_expert_actions = False
    interacts_with_env = True
    supports_offline = False

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
        if cfg.imitation.offline and not cls.supports_offline:
            raise UserError(f"algorithm={cfg.algorithm.name} cannot learn offline; set imitation.offline=false or "
                            f"use an offline-capable method (BC, IQLearn, LSIQ)")

    def pretrain(self, log: LogFn) -> None:
        """Before any environment step: BC pre-training of the actor when bc_pretraining.iterations > 0."""
        if self.cfg.bc_pretraining.iterations > 0:
            pretrain_actor(self.sac.actor, self.expert, self.cfg.bc_pretraining, self.cfg.training.batch_size,
                           self.cfg.logging, log)

    def relabel(self, agent: Transitions, expert: Transitions | None) -> Transitions:
        """The SAC batch with the method's rewards; the base method keeps the environment reward."""
        return agent

    def update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        metrics = {}
        if self.cfg.imitation.bc_aux_loss:  # one extra BC step with the main actor optimiser, before SAC's
            loss = bc_loss(self.sac.actor, expert)
            self.sac.actor_optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.sac.actor_optimiser.step()
            metrics["bc_loss"] = loss.detach()
        return metrics | self.learner_update(agent, expert)

    def learner_update(self, agent: Transitions | None, expert: Transitions | None) -> dict[str, torch.Tensor]:
        """The SAC learner's step; reward-learning methods only change `relabel`."""
        return self.sac.update(self.relabel(agent, expert))

    def learned_reward(self, transitions: Transitions) -> torch.Tensor | None:
        """The method's reward for each transition (None without a reward model); evaluations report its
        Pearson correlation with the true reward on the agent's own transitions."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


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


def pretrain_actor(actor: SquashedGaussianActor, expert: ExpertData, bc_cfg: DictConfig, batch_size: int,
                   logging: DictConfig, log: LogFn) -> None:
    """BC on the expert data with its own AdamW optimiser; only the actor is trained."""
    optimiser = torch.optim.AdamW(actor.parameters(), lr=bc_cfg.learning_rate, weight_decay=0.0)
    batches = shuffled_batches(expert, batch_size)
    bar = tqdm(range(1, bc_cfg.iterations + 1), desc="BC", unit="it", disable=not logging.progress_bar,
               dynamic_ncols=True)
    for iteration in bar:
        loss = bc_loss(actor, next(batches))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if iteration % logging.interval == 0 or iteration == bc_cfg.iterations:
            log(iteration, {"bc_loss": loss.detach()})
            bar.set_postfix(bc_loss=f"{loss.item():.3f}", refresh=False)

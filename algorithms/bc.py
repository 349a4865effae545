"""Behavioural cloning (Pomerleau, 1991): maximum likelihood of the expert's actions, no environment steps.

This module is also the home of the BC machinery every method can use: the loss, BC pre-training of the actor
(bc_pretraining.iterations, run by the training loop before a method's own pre-training), the BC auxiliary step
of the SAC learner (imitation.bc_aux_loss), and fitting any model to shuffled expert batches (DRIL's ensemble,
RED's predictor). The BC method itself is that pre-training alone; the run evaluates the cloned policy once at
the end.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from algorithms.base import Algorithm, LogFn
from data.expert import ExpertData
from data.transitions import Transitions
from models.actor import SquashedGaussianActor
from models.precision import precision_context


class BC(Algorithm):
    needs_expert_actions = True
    interacts_with_env = False
    supports_offline = True  # it always is


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


def fit_to_expert_data(parameters: Iterable[torch.nn.Parameter], batch_loss: Callable[[Transitions], torch.Tensor],
                       expert: ExpertData, iterations: int, learning_rate: float, weight_decay: float,
                       batch_size: int, logging: DictConfig, log: LogFn, name: str, precision: str) -> None:
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

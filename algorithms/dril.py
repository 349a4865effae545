"""DRIL (Brantley et al., 2020), dropout-ensemble version: a BC policy with Monte-Carlo dropout is fitted to the
expert data before any interaction; the variance of its action likelihood over `ensemble_size` dropout masks
measures disagreement. The reward is +1 where the disagreement is at most its `quantile_cutoff` quantile over
the expert rows and -1 elsewhere; the SAC actor also takes a BC auxiliary step at every update. The ensemble
never changes online.
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm, LogFn
from algorithms.bc import bc_loss, fit_to_expert_data
from data.transitions import Transitions
from errors import UserError
from models.actor import SquashedGaussianActor
from models.discriminator import regularised_mlp


class DropoutActor(SquashedGaussianActor):
    """The tanh-Gaussian policy with input dropout and dropout after each hidden layer (kept in train mode)."""

    def __init__(self, obs_size: int, action_size: int, hidden_size: int, depth: int, activation: str,
                 input_dropout: float, dropout: float):
        super().__init__(obs_size, action_size, hidden_size, depth, activation, -20.0, 2.0)
        self.net = regularised_mlp(obs_size, hidden_size, depth, activation, input_dropout, dropout, False,
                                   output_size=2 * action_size)


class DRIL(Algorithm):
    needs_expert_actions = True
    expert_mixing = ("mixed_batch", "prefill_memory")

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = options = cfg.algorithm
        network = options.network
        self.ensemble = DropoutActor(sac.obs_size, sac.action_size, network.hidden_size, network.depth,
                                     network.activation, network.input_dropout, network.dropout
                                     ).to(sac.log_alpha.device).train()
        self.threshold: float | None = None

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        options = cfg.algorithm
        if not 0 < options.quantile_cutoff <= 1:
            raise UserError(f"algorithm.quantile_cutoff={options.quantile_cutoff} must lie in (0, 1]")
        if options.ensemble_size < 2:
            raise UserError(f"algorithm.ensemble_size={options.ensemble_size} must be >= 2 (a variance needs two)")

    @torch.no_grad()
    def uncertainty(self, batch: Transitions) -> torch.Tensor:
        """Unbiased variance of the action density over `ensemble_size` independent dropout masks."""
        densities = torch.stack([torch.exp(self.ensemble.log_prob(batch.obs, batch.action))
                                 for _ in range(self.options.ensemble_size)])
        return densities.var(dim=0)

    def pretrain(self, log: LogFn) -> None:
        """BC of the dropout ensemble, then the disagreement threshold over all expert rows."""
        options = self.options
        fit_to_expert_data(self.ensemble.parameters(), lambda batch: bc_loss(self.ensemble, batch), self.expert,
                           options.pretraining_iterations, options.network.learning_rate,
                           options.network.weight_decay, self.cfg.training.batch_size, self.cfg.logging, log,
                           "ensemble_bc_loss", self.sac.precision)
        expert_uncertainty = self.uncertainty(self.expert.all())
        self.threshold = torch.quantile(expert_uncertainty.double(), options.quantile_cutoff).item()

    @torch.no_grad()
    def relabel(self, batch: Transitions, expert: Transitions | None = None) -> Transitions:
        return batch.replace(reward=torch.where(self.uncertainty(batch) <= self.threshold, 1.0, -1.0))

    def learned_reward(self, transitions: Transitions) -> torch.Tensor:
        return self.relabel(transitions).reward

    def state_dict(self) -> dict:
        return {"ensemble": self.ensemble.state_dict(), "threshold": self.threshold}

    def load_state_dict(self, state: dict) -> None:
        self.ensemble.load_state_dict(state["ensemble"])
        self.threshold = state["threshold"]

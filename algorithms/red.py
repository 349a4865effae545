"""RED (Wang et al., 2019): random expert distillation. A predictor network is fitted, before any interaction,
to a fixed random network on expert data only; the reward exp(-sigma * mean_k (f_hat_k(x) - f_k(x))^2) is high
where the predictor matches, i.e. on the expert's support. Neither network changes online.

sigma is algorithm.reward_bandwidth_scale, or, when that is null, 1 / the median prediction error over the
first batch of expert rows (matched pairs), which puts the median expert reward at exp(-1).
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm, LogFn, fit_to_expert_data
from data.transitions import Transitions
from models.discriminator import regularised_mlp


class RED(Algorithm):
    expert_mixing = ("mixed_batch", "prefill_memory")

    def __init__(self, cfg: DictConfig, sac, expert):
        super().__init__(cfg, sac, expert)
        self.options = options = cfg.algorithm
        self.state_only = cfg.imitation.state_only
        size = sac.obs_size if self.state_only else sac.obs_size + sac.action_size
        network = options.network
        device = sac.log_alpha.device
        self.target = regularised_mlp(size, network.hidden_size, network.depth, network.activation, 0.0, 0.0,
                                      False, output_size=size).to(device).requires_grad_(False)
        self.predictor = regularised_mlp(size, network.hidden_size, network.depth, network.activation,
                                         network.input_dropout, network.dropout, False,
                                         output_size=size).to(device).eval()  # train mode only while fitted
        self.bandwidth = options.reward_bandwidth_scale

    def features(self, batch: Transitions) -> torch.Tensor:
        return batch.obs if self.state_only else torch.cat([batch.obs, batch.action], dim=1)

    def prediction_error(self, batch: Transitions) -> torch.Tensor:
        x = self.features(batch)
        return ((self.predictor(x) - self.target(x)) ** 2).mean(dim=1)

    def pretrain(self, log: LogFn) -> None:
        """Fit the predictor to the random target on expert rows, then fix the bandwidth."""
        super().pretrain(log)
        options = self.options
        self.predictor.train()
        fit_to_expert_data(self.predictor.parameters(),
                           lambda batch: (batch.weight * self.prediction_error(batch)).mean(), self.expert,
                           options.pretraining_iterations, options.network.learning_rate,
                           options.network.weight_decay, self.cfg.training.batch_size, self.cfg.logging, log,
                           "red_loss", self.sac.precision)
        self.predictor.eval()
        if self.bandwidth is None:
            with torch.no_grad():
                calibration = self.expert.all()
                first = calibration.map(lambda field: field[:self.cfg.training.batch_size])
                self.bandwidth = 1.0 / self.prediction_error(first).median().item()

    @torch.no_grad()
    def relabel(self, batch: Transitions, expert: Transitions | None = None) -> Transitions:
        return batch.replace(reward=torch.exp(-self.bandwidth * self.prediction_error(batch)))

    def learned_reward(self, transitions: Transitions) -> torch.Tensor:
        return self.relabel(transitions).reward

    def state_dict(self) -> dict:
        return {"predictor": self.predictor.state_dict(), "target": self.target.state_dict(),
                "bandwidth": self.bandwidth}

    def load_state_dict(self, state: dict) -> None:
        self.predictor.load_state_dict(state["predictor"])
        self.target.load_state_dict(state["target"])
        self.bandwidth = state["bandwidth"]

"""RED (Wang et al., 2019): random expert distillation. A predictor network is fitted, before any interaction,
to a fixed random network on expert data only; the reward exp(-sigma * mean_k (f_hat_k(x) - f_k(x))^2) is high
where the predictor matches, i.e. on the expert's support. Neither network changes online.

sigma is algorithm.reward_bandwidth_scale, or, when that is null, 1 / a median squared error over the first batch
of expert rows (algorithm.bandwidth_median): by default, as the Pragmatic Look suite, over every (prediction i,
target j) pair of the batch with the predictor in training mode (dropout active), a much broader kernel whose
rewards are near 1 almost everywhere and highest near the expert; or over matched pairs (i = j) with the predictor
in eval mode, which puts the median expert reward at exp(-1).
"""
from __future__ import annotations

import torch
from omegaconf import DictConfig

from algorithms.base import Algorithm, LogFn
from algorithms.bc import fit_to_expert_data
from data.transitions import Transitions
from errors import check_choice
from models.discriminator import regularised_mlp

BANDWIDTH_MEDIANS = ("all_pairs", "matched_pairs")


def median_bandwidth(prediction: torch.Tensor, target: torch.Tensor, pairs: str) -> float:
    """1 / the median squared error (mean over features) between predictions and targets of a calibration batch:
    over every (prediction i, target j) pair (`all_pairs`) or of each row with its own target (`matched_pairs`)."""
    if pairs == "all_pairs":
        errors = ((prediction[:, None, :] - target[None, :, :]) ** 2).mean(dim=2)
    else:
        errors = ((prediction - target) ** 2).mean(dim=1)
    return 1.0 / errors.median().item()


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

    @classmethod
    def check_config(cls, cfg: DictConfig) -> None:
        super().check_config(cfg)
        check_choice(cfg.algorithm, "bandwidth_median", BANDWIDTH_MEDIANS)

    def features(self, batch: Transitions) -> torch.Tensor:
        return batch.obs if self.state_only else torch.cat([batch.obs, batch.action], dim=1)

    def prediction_error(self, batch: Transitions) -> torch.Tensor:
        x = self.features(batch)
        return ((self.predictor(x) - self.target(x)) ** 2).mean(dim=1)

    def pretrain(self, log: LogFn) -> None:
        """Fit the predictor to the random target on expert rows, then fix the bandwidth."""
        options = self.options
        self.predictor.train()
        fit_to_expert_data(self.predictor.parameters(),
                           lambda batch: (batch.weight * self.prediction_error(batch)).mean(), self.expert,
                           options.pretraining_iterations, options.network.learning_rate,
                           options.network.weight_decay, self.cfg.training.batch_size, self.cfg.logging, log,
                           "red_loss", self.sac.precision)
        self.predictor.eval()
        if self.bandwidth is None:
            self.bandwidth = self.calibrated_bandwidth()

    @torch.no_grad()
    def calibrated_bandwidth(self) -> float:
        """sigma from the first batch of expert rows (algorithm.bandwidth_median); leaves the predictor in eval mode."""
        pairs = self.options.bandwidth_median
        first = self.expert.all().map(lambda field: field[:self.cfg.training.batch_size])
        x = self.features(first)
        self.predictor.train(pairs == "all_pairs")  # the reference calibrates before switching dropout off
        prediction = self.predictor(x)
        self.predictor.eval()
        return median_bandwidth(prediction, self.target(x), pairs)

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

"""The tanh-squashed diagonal Gaussian policy shared by every method."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from models.mlp import mlp

ACTION_CLIP = 1 - 1e-6  # atanh(+-1) is infinite: expert actions are clipped before their log-likelihood


class SquashedGaussianActor(nn.Module):
    """pi(a|s): a = tanh(mu(s) + sigma(s) * eps), eps ~ N(0, I); actions live in [-1, 1]^|A|."""

    def __init__(self, obs_size: int, action_size: int, hidden_size: int, depth: int, activation: str,
                 log_std_min: float, log_std_max: float):
        super().__init__()
        self.net = mlp(obs_size, 2 * action_size, hidden_size, depth, activation)
        self.log_std_min, self.log_std_max = log_std_min, log_std_max

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-squash mean and log standard deviation."""
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and its log-probability (summed over action dimensions)."""
        mean, log_std = self(obs)
        pre_squash = mean + log_std.exp() * torch.randn_like(mean)
        return torch.tanh(pre_squash), _squashed_log_prob(pre_squash, mean, log_std)

    def deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """tanh(mu(s)): the evaluation action."""
        return torch.tanh(self(obs)[0])

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """log pi(a|s) of given actions in [-1, 1] (clipped away from +-1)."""
        mean, log_std = self(obs)
        pre_squash = torch.atanh(action.clamp(-ACTION_CLIP, ACTION_CLIP))
        return _squashed_log_prob(pre_squash, mean, log_std)


def _squashed_log_prob(pre_squash: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    gaussian = -0.5 * ((pre_squash - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
    # log(1 - tanh(x)^2) written stably as 2 (log 2 - x - softplus(-2x))
    log_jacobian = 2 * (math.log(2) - pre_squash - F.softplus(-2 * pre_squash))
    return (gaussian - log_jacobian).sum(-1)

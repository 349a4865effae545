"""Discriminators of the adversarial methods: a logit f(s, a[, s', d]) of "this transition is the expert's"."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from models.mlp import ACTIVATIONS, Float32OutputSequential, activation_gain
from models.precision import in_float32


class Float32SpectralNorm(_SpectralNorm):
    """torch's spectral normalisation, computed in float32 even under mixed precision: CUDA autocast would run its
    power iteration's matrix-vector products in bfloat16, then fail on a float32-bfloat16 dot product."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return in_float32(super().forward, weight)


def spectral_norm(linear: nn.Linear) -> nn.Linear:
    """torch.nn.utils.parametrizations.spectral_norm(linear), in float32 (the same state-dict keys)."""
    parametrize.register_parametrization(linear, "weight", Float32SpectralNorm(linear.weight))
    return linear


def regularised_mlp(input_size: int, hidden_size: int, depth: int, activation: str, input_dropout: float,
                    dropout: float, spectral: bool, output_size: int = 1) -> nn.Sequential:
    """MLP (to a scalar by default) with optional input dropout, dropout on each hidden layer (Linear -> Dropout ->
    activation, the Pragmatic Look suite's order) and spectral normalisation of every linear layer; orthogonal
    weights (activation gain, 1 on the output), zero biases."""
    layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    size = input_size
    for index in range(depth + 1):
        last = index == depth
        linear = nn.Linear(size, output_size if last else hidden_size)
        nn.init.orthogonal_(linear.weight, gain=1.0 if last else activation_gain(activation))
        nn.init.zeros_(linear.bias)
        layers.append(spectral_norm(linear) if spectral else linear)
        if not last:
            layers += [nn.Dropout(dropout)] if dropout > 0 else []
            layers.append(ACTIVATIONS[activation]())
        size = hidden_size
    return Float32OutputSequential(*layers)


class Discriminator(nn.Module):
    """f = g(s, a) (or g(s) state-only); with AIRL reward shaping f = g + (1 - d)(gamma h(s') - h(s)), where g is
    a single linear layer (the disentangled reward) and h an MLP potential on states."""

    def __init__(self, obs_size: int, action_size: int, *, hidden_size: int, depth: int, activation: str,
                 input_dropout: float, dropout: float, spectral: bool, state_only: bool, reward_shaping: bool,
                 discount: float):
        super().__init__()
        self.state_only, self.reward_shaping, self.discount = state_only, reward_shaping, discount
        reward_input = obs_size if state_only else obs_size + action_size
        if reward_shaping:
            linear = nn.Linear(reward_input, 1)  # PyTorch's default initialisation, as the reference's g
            self.g = Float32OutputSequential(*([nn.Dropout(input_dropout)] if input_dropout > 0 else []),
                                             spectral_norm(linear) if spectral else linear)
            self.h = regularised_mlp(obs_size, hidden_size, depth, activation, input_dropout, dropout, spectral)
        else:
            self.g = regularised_mlp(reward_input, hidden_size, depth, activation, input_dropout, dropout, spectral)

    def forward(self, obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor,
                terminal: torch.Tensor) -> torch.Tensor:
        """The logit of each row, shape (B,)."""
        logit = self.g(obs if self.state_only else torch.cat([obs, action], dim=-1)).squeeze(-1)
        if self.reward_shaping:
            shaping = self.discount * self.h(next_obs).squeeze(-1) - self.h(obs).squeeze(-1)
            logit = logit + (1 - terminal) * shaping
        return logit

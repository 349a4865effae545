"""Multi-layer perceptrons with the orthogonal initialisation the reference suites use."""
from __future__ import annotations

import math

import torch
from torch import nn

from models.precision import in_float32

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


def activation_gain(activation: str) -> float:
    """Orthogonal-init gain for hidden layers followed by `activation`."""
    if activation == "gelu":
        return math.sqrt(2)
    return nn.init.calculate_gain(activation)


class Float32OutputSequential(nn.Sequential):
    """Layers in sequence, the last (the output layer) in float32 even under mixed precision: a critic's value
    rounded to bfloat16 keeps 8 significant bits (a Q-value near 300 moves in steps of 2, about one hopper step's
    reward), and the output layer costs little beside the hidden layers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, output = self
        for layer in hidden:
            x = layer(x)
        return in_float32(output, x)


def mlp(input_size: int, output_size: int, hidden_size: int, depth: int, activation: str = "relu") -> nn.Sequential:
    """`depth` hidden layers of `hidden_size` units; orthogonal weights (activation gain, 1 on the output), zero biases."""
    layers: list[nn.Module] = []
    size = input_size
    for _ in range(depth):
        layers += [_orthogonal_linear(size, hidden_size, activation_gain(activation)), ACTIVATIONS[activation]()]
        size = hidden_size
    layers.append(_orthogonal_linear(size, output_size, 1.0))
    return Float32OutputSequential(*layers)


def _orthogonal_linear(input_size: int, output_size: int, gain: float) -> nn.Linear:
    layer = nn.Linear(input_size, output_size)
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


class EnsembleLinear(nn.Module):
    """`members` independent linear layers evaluated as one batched matmul: (M, B, in) -> (M, B, out)."""

    def __init__(self, members: int, input_size: int, output_size: int, gain: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, input_size, output_size))
        self.bias = nn.Parameter(torch.zeros(members, 1, output_size))
        with torch.no_grad():
            for member in range(members):  # each member initialised like an nn.Linear (out, in) weight
                self.weight[member] = nn.init.orthogonal_(torch.empty(output_size, input_size), gain=gain).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleMLP(nn.Module):
    """`members` MLPs of identical shape with independent weights, evaluated in one pass."""

    def __init__(self, members: int, input_size: int, output_size: int, hidden_size: int, depth: int,
                 activation: str = "relu"):
        super().__init__()
        layers: list[nn.Module] = []
        size = input_size
        for _ in range(depth):
            layers += [EnsembleLinear(members, size, hidden_size, activation_gain(activation)), ACTIVATIONS[activation]()]
            size = hidden_size
        layers.append(EnsembleLinear(members, size, output_size, 1.0))
        self.members = members
        self.net = Float32OutputSequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in), shared by all members, or (M, B, in), one input per member. Returns (M, B, out)."""
        if x.dim() == 2:
            x = x.expand(self.members, *x.shape)
        return self.net(x)

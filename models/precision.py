"""Mixed precision (`precision=bf16`): matrix products in bfloat16 under torch.autocast, everything else float32.

Weights, gradients and optimiser state stay float32. Each loss is computed inside `precision_context(...)`, and its
backward pass and optimiser step run after the region is left: PyTorch advises against backward passes under
autocast, and autocast keeps its bfloat16 copies of the weights until the outermost region ends, so a region
spanning an optimiser step would go on using the weights from before the step. Networks compute their output layer
in float32 (`in_float32`), so what follows them (log-probabilities, the tanh correction, targets, losses) is
float32. See docs/PRECISION.md.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

PRECISIONS = ("fp32", "bf16")


def precision_context(precision: str, device: torch.device | str) -> contextlib.AbstractContextManager:
    """The region a loss is computed in: bfloat16 matrix products for bf16; for fp32 nothing changes."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def in_float32(function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """function(x) computed in float32 even inside autocast (for output layers and spectral normalisation)."""
    device_type = x.device.type
    if not torch.is_autocast_enabled(device_type):
        return function(x)
    with torch.autocast(device_type, enabled=False):
        return function(x.float())


def input_gradients(output: torch.Tensor, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """d output.sum() / d inputs, with a graph for a gradient penalty's own backward pass. Taken with autocast off:
    a backward pass run inside autocast can be autocast too (CUDA's backward threads inherit it), casting the float32
    output layer's backward to bfloat16; outside, each backward op runs in the dtype of its forward op."""
    with torch.autocast(output.device.type, enabled=False):
        return torch.autograd.grad(output.sum(), inputs, create_graph=True)

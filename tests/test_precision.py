"""precision=bf16: where autocast computes in bfloat16 and where everything stays float32 (docs/PRECISION.md)."""
from __future__ import annotations

import contextlib
import logging

import pandas as pd
import pytest
import torch
from test_adversarial import build as build_adversarial
from test_adversarial import rows
from test_reward_models import build as build_method
from test_reward_models import expert_data
from test_train_end_to_end import run_command
from torch import nn
from torch.nn.utils.parametrizations import _SpectralNorm

from algorithms.sac import SoftActorCritic
from conftest import TINY, make_config
from data.transitions import Transitions
from errors import UserError
from models.discriminator import Float32SpectralNorm, regularised_mlp
from models.mlp import EnsembleLinear, Float32OutputSequential
from training.config import check_precision

OBS_SIZE, ACTION_SIZE = 3, 2


def bf16_learner() -> SoftActorCritic:
    torch.manual_seed(0)
    return SoftActorCritic.from_config(make_config(*TINY, "precision=bf16"), OBS_SIZE, ACTION_SIZE)


def batch(size: int = 32, seed: int = 1) -> Transitions:
    generator = torch.Generator().manual_seed(seed)
    return Transitions(torch.randn(size, OBS_SIZE, generator=generator),
                       torch.rand(size, ACTION_SIZE, generator=generator) * 2 - 1,
                       torch.randn(size, generator=generator) * 100, torch.randn(size, OBS_SIZE, generator=generator),
                       torch.zeros(size), torch.zeros(size), torch.ones(size))


def test_inside_the_region_linear_layers_compute_in_bfloat16_and_the_networks_return_float32():
    sac, rows_ = bf16_learner(), batch()
    with sac.autocast():
        assert sac.actor.net[0](rows_.obs).dtype == torch.bfloat16
        assert sac.critic.net.net[0](torch.cat([rows_.obs, rows_.action], 1).expand(2, -1, -1)).dtype == torch.bfloat16
        mean, log_std = sac.actor(rows_.obs)
        _, log_prob = sac.actor.sample(rows_.obs)
        q_values = sac.critic(rows_.obs, rows_.action)
        float32 = {"mean": mean, "log_std": log_std, "log_prob": log_prob, "expert log_prob":
                   sac.actor.log_prob(rows_.obs, rows_.action), "q": q_values, "target": sac.critic_target(rows_),
                   "critic loss": sac.soft_bellman_loss(rows_)[0], **dict(zip(
                       ("actor loss", "temperature loss", "entropy"), sac.actor_and_temperature_losses(rows_)))}
    assert {name: value.dtype for name, value in float32.items()} == {name: torch.float32 for name in float32}


def test_the_output_layer_computes_in_float32_so_values_are_not_rounded_to_bfloat16():
    sac, rows_ = bf16_learner(), batch()
    with torch.no_grad():
        sac.critic.net.net[-1].bias += 300.0  # where bfloat16 resolves steps of 2
        with sac.autocast():
            q_values = sac.critic(rows_.obs, rows_.action)
    assert not torch.equal(q_values, q_values.bfloat16().float())


def test_reward_model_networks_return_float32_under_autocast():
    method = build_adversarial("precision=bf16", "algorithm.spectral_norm=true")
    predictor = regularised_mlp(5, 16, 1, "relu", 0.0, 0.0, True, output_size=5)
    with method.sac.autocast():
        logit = method.logit(rows(8))
        prediction = predictor(torch.randn(8, 5))
        hidden = predictor[0](torch.randn(8, 5))
    assert (logit.dtype, prediction.dtype, hidden.dtype) == (torch.float32, torch.float32, torch.bfloat16)


def test_a_bf16_update_keeps_float32_weights_gradients_and_optimiser_state():
    method = build_adversarial("precision=bf16", "algorithm.grad_penalty=1.0")
    before = [parameter.detach().clone() for parameter in method.sac.parameters()]
    metrics = method.update(rows(16, seed=1), rows(16, seed=2))
    assert all(torch.isfinite(value) for value in metrics.values())
    assert any(not torch.equal(old, new) for old, new in zip(before, method.sac.parameters()))
    modules = (method.sac, method.discriminator)
    for tensor in [t for module in modules for t in (*module.parameters(), *module.buffers())]:
        assert tensor.dtype == torch.float32
        assert tensor.grad is None or tensor.grad.dtype == torch.float32
    optimisers = (method.sac.actor_optimiser, method.sac.critic_optimiser, method.sac.temperature_optimiser,
                  method.optimiser)
    states = [value for optimiser in optimisers for state in optimiser.state.values() for key, value in state.items()
              if key != "step"]
    assert states and all(value.dtype == torch.float32 for value in states)


def remove_precision_machinery(monkeypatch) -> None:
    """The modules and updates as they were before the precision key: no region, plain output and spectral norm."""
    monkeypatch.setattr(SoftActorCritic, "autocast", lambda self: contextlib.nullcontext())
    monkeypatch.setattr(Float32OutputSequential, "forward", nn.Sequential.forward)
    monkeypatch.setattr(Float32SpectralNorm, "forward", _SpectralNorm.forward)
    monkeypatch.setattr("algorithms.adversarial.input_gradients", lambda output, inputs: torch.autograd.grad(
        output.sum(), inputs, create_graph=True))


def test_fp32_updates_are_bit_identical_to_updates_without_the_precision_machinery(monkeypatch):
    def trained_state() -> list[torch.Tensor]:
        torch.manual_seed(0)
        method = build_adversarial("precision=fp32", "algorithm.grad_penalty=1.0", "algorithm.spectral_norm=true")
        for seed in range(3):
            method.update(rows(16, seed=2 * seed), rows(16, seed=2 * seed + 1))
        optimisers = (method.sac.actor_optimiser, method.sac.critic_optimiser, method.optimiser)
        return [*method.sac.state_dict().values(), *method.discriminator.state_dict().values(),
                *[value for optimiser in optimisers for state in optimiser.state.values() for value in state.values()]]

    with_machinery = trained_state()
    remove_precision_machinery(monkeypatch)
    without = trained_state()
    assert len(with_machinery) == len(without)
    assert all(torch.equal(a, b) for a, b in zip(with_machinery, without))


def autocast_of_gradient_forward_passes(modules: list[nn.Module]) -> list[bool]:
    """Whether autocast was on at each later forward pass, with gradients, of the modules' hidden linear layers
    (output layers run in float32 by design)."""
    seen = []

    def record(layer, inputs):
        if torch.is_grad_enabled():
            seen.append(torch.is_autocast_enabled("cpu"))
    for module in modules:
        for network in module.modules():
            if isinstance(network, Float32OutputSequential):
                for layer in list(network)[:-1]:
                    if isinstance(layer, (nn.Linear, EnsembleLinear)):
                        layer.register_forward_pre_hook(record)
    return seen


@pytest.mark.parametrize("algorithm, overrides", [
    ("SAC", ["bc_pretraining.iterations=2", "imitation.bc_aux_loss=true"]),
    ("GAIL", ["algorithm.grad_penalty=1.0", "algorithm.spectral_norm=true"]),
    ("IQLearn", ["algorithm.grad_penalty=1.0"]), ("LSIQ_HC", []), ("DRIL", ["algorithm.pretraining_iterations=2"]),
    ("RED", ["algorithm.pretraining_iterations=2"]),
])
def test_every_forward_pass_that_is_differentiated_runs_in_bf16(algorithm, overrides):
    """Pre-training, reward-model and learner losses alike: none is left out of the autocast region."""
    generator = torch.Generator().manual_seed(0)
    expert = expert_data(torch.randn(64, OBS_SIZE, generator=generator), torch.rand(64, ACTION_SIZE) * 2 - 1)
    method = build_method(algorithm, expert, "precision=bf16", *overrides)
    seen = autocast_of_gradient_forward_passes([method.sac, *(value for value in vars(method).values()
                                                               if isinstance(value, nn.Module))])
    method.pretrain(lambda step, metrics: None)
    method.update(batch(32, seed=1), expert.sample(32))
    assert seen and all(seen)


def test_bf16_is_refused_on_a_cuda_device_without_bfloat16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "Old GPU")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(UserError, match="^precision=bf16 but Old GPU does not support bfloat16; use precision=fp32$"):
        check_precision("bf16", torch.device("cuda"))
    check_precision("fp32", torch.device("cuda"))
    with pytest.raises(UserError, match="runs on cpu and cuda devices, not mps"):
        check_precision("bf16", torch.device("mps"))


@pytest.mark.parametrize("capabilities, warned", [({"avx2": True}, True), ({"avx512_bf16": True}, False),
                                                  ({"sve_bf16": True}, False)])
def test_bf16_on_a_cpu_without_native_bfloat16_runs_with_a_warning(monkeypatch, caplog, capabilities, warned):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities)
    with caplog.at_level(logging.WARNING, logger="training.config"):
        check_precision("bf16", torch.device("cpu"))
    assert ("without native bfloat16 matrix products" in caplog.text) == warned


@pytest.mark.parametrize("algorithm, overrides", [
    ("SAC", ["bc_pretraining.iterations=50", "imitation.bc_aux_loss=true"]), ("GAIL", ["algorithm.grad_penalty=1.0"]),
    ("IQLearn", ["algorithm.grad_penalty=1.0"]), ("RED", ["algorithm.pretraining_iterations=50"]),
    ("DRIL", ["algorithm.pretraining_iterations=50"]),
])
def test_train_py_runs_in_bf16(tmp_path, algorithm, overrides):
    result = run_command(f"algorithm={algorithm}", *TINY, *overrides, "precision=bf16", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert "precision: bf16" in (tmp_path / "config.yaml").read_text()
    metrics = pd.read_csv(tmp_path / "metrics.csv")  # the loop stops a run on a non-finite metric
    assert metrics.filter(like="loss").notna().any().all()
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [150, 300]


def test_an_unknown_precision_stops_with_one_line():
    result = run_command("algorithm=SAC", *TINY, "precision=fp16")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: precision='fp16' is invalid; it must be fp32 or bf16"

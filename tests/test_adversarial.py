"""GAIL / AIRL / FAIRL: discriminator losses, rewards, penalties and presets on hand-made inputs (§4-§6)."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from algorithms.adversarial import (
    AdversarialImitation,
    bce_loss,
    bernoulli_entropy,
    interpolate,
    mixup_loss,
    pu_loss,
    reward_from_logit,
)
from algorithms.sac import SoftActorCritic
from conftest import TINY, make_config
from data.expert import ExpertData
from data.transitions import RowLayout, Transitions, half_expert_batch
from errors import UserError
from models.discriminator import Discriminator, regularised_mlp
from training.loop import train


def rows(n: int, obs_size: int = 3, action_size: int = 2, seed: int = 0, terminal=None) -> Transitions:
    generator = torch.Generator().manual_seed(seed)
    return Transitions(torch.randn(n, obs_size, generator=generator), torch.rand(n, action_size, generator=generator),
                       torch.zeros(n), torch.randn(n, obs_size, generator=generator),
                       torch.zeros(n) if terminal is None else terminal, torch.zeros(n), torch.ones(n))


def build(*overrides: str, algorithm: str = "GAIL") -> AdversarialImitation:
    cfg = make_config(f"algorithm={algorithm}", *TINY, *overrides)
    sac = SoftActorCritic.from_config(cfg, 3, 2)
    layout = RowLayout(3, 2)
    return AdversarialImitation(cfg, sac, ExpertData(torch.zeros(4, layout.width), layout, None, False, {}))


def test_bce_is_log_4_at_zero_logits_and_at_least_log_4_for_identical_batches():
    zeros, ones = torch.zeros(8), torch.ones(8)
    assert bce_loss(zeros, zeros, ones, ones).item() == pytest.approx(math.log(4))
    logits = torch.randn(8)
    assert bce_loss(logits, logits, ones, ones).item() >= math.log(4)


def test_mixup_interpolates_inputs_and_labels():
    expert, agent = rows(4, seed=1), rows(4, seed=2)
    mix = torch.tensor([0.0, 0.25, 0.5, 1.0])
    mixed = interpolate(expert, agent, mix)
    assert torch.allclose(mixed.obs[1], 0.25 * expert.obs[1] + 0.75 * agent.obs[1])
    assert torch.equal(mixed.obs[0], agent.obs[0]) and torch.equal(mixed.action[3], expert.action[3])
    assert mixup_loss(torch.zeros(4), mix, torch.ones(4)).item() == pytest.approx(math.log(2))
    logit = torch.tensor([0.7, -1.2, 2.0, 0.1])  # the label of a mixed row is its coefficient
    expected = torch.stack([torch.nn.functional.binary_cross_entropy_with_logits(logit[i], mix[i]) for i in range(4)])
    assert mixup_loss(logit, mix, torch.ones(4)).item() == pytest.approx(expected.mean().item(), rel=1e-5)


def test_pu_loss_matches_the_non_negative_pu_risk():
    eta, ones = 0.7, torch.ones(8)
    zero = torch.zeros(8)
    expected = eta * math.log(2) + max(-math.inf, (1 - eta) * math.log(2))
    assert pu_loss(zero, zero, ones, ones, eta, math.inf).item() == pytest.approx(expected)
    assert pu_loss(zero, zero, ones, ones, 1.0, 0.05).item() == pytest.approx(math.log(2))  # 0 >= -0.05
    expert_logit, agent_logit = torch.randn(8), torch.randn(8, requires_grad=True)
    softplus = torch.nn.functional.softplus
    negative = softplus(agent_logit).mean() - eta * softplus(expert_logit).mean()
    formula = eta * softplus(-expert_logit).mean() + torch.clamp(negative, min=-0.1)
    loss = pu_loss(expert_logit, agent_logit, ones, ones, eta, 0.1)
    assert loss.item() == pytest.approx(formula.item())
    loss.backward()
    if negative.item() > -0.1:  # lowering agent logits lowers the loss: agent data is pushed towards "not expert"
        assert (agent_logit.grad > 0).all()


def test_reward_functions_at_known_logits():
    logit = torch.tensor([-3.0, -1.0, 0.0, 2.0])
    assert reward_from_logit(logit, "GAIL").tolist() == pytest.approx(
        [-math.log(1 - 1 / (1 + math.exp(-f))) for f in logit.tolist()], rel=1e-4)
    assert reward_from_logit(logit, "AIRL").tolist() == pytest.approx(logit.tolist(), abs=1e-4)
    fairl = reward_from_logit(torch.linspace(-10, 10, 2001), "FAIRL")
    assert fairl.max().item() == pytest.approx(math.exp(-1), rel=1e-4)
    assert reward_from_logit(torch.tensor([-1.0, 0.0]), "FAIRL").tolist() == pytest.approx([math.exp(-1), 0], abs=1e-5)
    assert (reward_from_logit(torch.linspace(-14, 14, 50), "GAIL") >= -1e-5).all()
    assert reward_from_logit(logit, "FKL").tolist() == pytest.approx(torch.exp(logit).tolist(), rel=1e-4)


def test_fkl_reward_gives_the_forward_kl_gradient_and_fairl_reward_does_not():
    """On a hand-made discrete occupancy rho_pi = softmax(theta) and the optimal logit h = log(rho_E / rho_pi),
    ascending E_pi[r] with r held fixed must descend KL(rho_E || rho_pi) = sum rho_E log(rho_E / rho_pi)."""
    expert = torch.tensor([0.5, 0.3, 0.15, 0.05])
    theta = torch.tensor([0.2, -0.4, 0.9, 0.1], requires_grad=True)
    agent = torch.softmax(theta, 0)
    (kl_gradient,) = torch.autograd.grad((expert * torch.log(expert / agent)).sum(), theta, retain_graph=True)
    optimal_logit = torch.log(expert / agent).detach()

    def surrogate_gradient(reward_function: str) -> torch.Tensor:
        reward = reward_from_logit(optimal_logit, reward_function)
        return torch.autograd.grad(-(agent * reward).sum(), theta, retain_graph=True)[0]

    assert surrogate_gradient("FKL").tolist() == pytest.approx(kl_gradient.tolist(), abs=1e-5)
    assert (surrogate_gradient("FAIRL") - kl_gradient).abs().max().item() > 0.05


def test_bernoulli_entropy_is_log_2_at_zero_logit():
    assert bernoulli_entropy(torch.zeros(1)).item() == pytest.approx(math.log(2))


def linear_discriminator(method: AdversarialImitation, weights: torch.Tensor) -> None:
    """Turn the discriminator into f(s, a) = v . [s, a]."""
    method.discriminator.g = torch.nn.Linear(5, 1, bias=False)
    with torch.no_grad():
        method.discriminator.g.weight.copy_(weights)


@pytest.mark.parametrize("centre", [0, 1])
def test_gradient_penalty_of_a_linear_discriminator(centre):
    method = build("algorithm.spectral_norm=false", f"algorithm.grad_penalty_centre={centre}")
    expert, agent = rows(16, seed=1), rows(16, seed=2)
    unit = torch.tensor([[0.6, 0.0, 0.8, 0.0, 0.0]])
    linear_discriminator(method, unit)
    penalty = method.gradient_penalty(expert, agent).item()
    assert penalty == pytest.approx(1.0 if centre == 0 else 0.0, abs=1e-6)  # |v| = 1
    linear_discriminator(method, 2 * unit)
    assert method.gradient_penalty(expert, agent).item() == pytest.approx(4.0 if centre == 0 else 1.0, rel=1e-5)


def test_spectral_norm_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    network = regularised_mlp(6, 32, 2, "relu", 0.0, 0.0, spectral=True)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.mul_(10)
    network.train()
    for _ in range(30):
        network(torch.randn(8, 6))
    for layer in network:
        if isinstance(layer, torch.nn.Linear):
            assert torch.linalg.matrix_norm(layer.weight, ord=2).item() <= 1.0 + 1e-2


def test_airl_shaping_identities():
    discriminator = Discriminator(3, 2, hidden_size=8, depth=1, activation="relu", input_dropout=0.0, dropout=0.0,
                                  spectral=False, state_only=False, reward_shaping=True, discount=0.9)
    with torch.no_grad():
        for parameter in discriminator.g.parameters():
            parameter.zero_()
        for parameter in discriminator.h.parameters():
            parameter.zero_()
        discriminator.h[-1].bias.fill_(2.0)  # constant potential h = 2
    batch = rows(4, terminal=torch.tensor([0.0, 1.0, 0.0, 1.0]))
    logit = discriminator(batch.obs, batch.action, batch.next_obs, batch.terminal)
    assert logit.tolist() == pytest.approx([(0.9 - 1) * 2.0, 0.0, (0.9 - 1) * 2.0, 0.0])


def test_airl_subtracts_log_policy_except_at_the_absorbing_state():
    method = build("imitation.absorbing=true", "algorithm.grad_penalty=0", "algorithm.subtract_log_policy=true",
                   algorithm="AIRL")
    batch = rows(4)
    batch = batch.replace(obs=torch.cat([batch.obs[:, :2], torch.tensor([[0.0], [1.0], [0.0], [1.0]])], dim=1))
    batch = batch.replace(action=torch.where(batch.obs[:, -1:] == 1, 0.0, batch.action))
    with torch.no_grad():
        f = method.discriminator(batch.obs, batch.action, batch.next_obs, batch.terminal)
        log_policy = method.sac.actor.log_prob(batch.obs, batch.action)
        logit = method.logit(batch)
    assert torch.allclose(logit[[0, 2]], (f - log_policy)[[0, 2]]) and torch.equal(logit[[1, 3]], f[[1, 3]])
    assert not torch.allclose(log_policy[[1, 3]], torch.zeros(2))  # so the test can tell the two apart


PAPER_AIRL = ("algorithm.reward_shaping=true", "algorithm.subtract_log_policy=true")


@pytest.mark.parametrize("algorithm", ["GAIL", "AIRL"])  # AIRL in its paper's form: shaped, log pi subtracted
@pytest.mark.parametrize("loss", ["BCE", "Mixup", "PUGAIL"])
def test_every_loss_trains_every_discriminator_parameter_without_a_gradient_penalty(algorithm, loss):
    method = build(f"algorithm.loss_function={loss}", "algorithm.grad_penalty=0",
                   *(PAPER_AIRL if algorithm == "AIRL" else ()), algorithm=algorithm)
    before = [p.detach().clone() for p in method.discriminator.parameters()]
    method.update_reward_model(rows(16, seed=1), rows(16, seed=2))
    assert all(not torch.equal(old, new) for old, new in zip(before, method.discriminator.parameters()))


def test_half_expert_batch_has_exactly_half_expert_rows():
    agent, expert = rows(9, seed=1), rows(9, seed=2)
    batch = half_expert_batch(agent, expert)
    assert torch.equal(batch.obs[:4], expert.obs[:4]) and torch.equal(batch.obs[4:], agent.obs[4:])


def test_presets_mean_what_they_say():
    gail, airl, fairl = (make_config(f"algorithm={name}").algorithm for name in ("GAIL", "AIRL", "FAIRL"))
    assert gail.reward_function == "GAIL" and not gail.reward_shaping
    assert airl.reward_function == "AIRL" and not airl.reward_shaping and not airl.subtract_log_policy
    assert fairl.reward_function == "FKL" and fairl.discriminator.learning_rate == gail.discriminator.learning_rate


@pytest.mark.parametrize("override, message", [
    ("algorithm.loss_function=Hinge", "algorithm.loss_function=Hinge is unknown"),
    ("algorithm.mixup_alpha=0", "algorithm.mixup_alpha=0 must be > 0"),
    ("algorithm.pos_class_prior=1.5", "algorithm.pos_class_prior=1.5 must lie in [0, 1]"),
    ("imitation.mix_expert_data=prefill_memory", "does not support imitation.mix_expert_data=prefill_memory"),
    ("algorithm.reward_function=WAIL", "algorithm.reward_function=WAIL is unknown"),
])
def test_incompatible_options_are_refused(tmp_path, override, message):
    loss = "algorithm.loss_function=Mixup" if "mixup" in override else "algorithm.loss_function=BCE"
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        train(make_config("algorithm=GAIL", *TINY, loss, override), tmp_path)


@pytest.mark.parametrize("algorithm, extra", [
    ("GAIL", ()), ("AIRL", ()), ("FAIRL", ()),
    ("GAIL", ("algorithm.loss_function=Mixup", "algorithm.entropy_bonus=0.1", "imitation.mix_expert_data=mixed_batch")),
    ("GAIL", ("algorithm.loss_function=PUGAIL", "algorithm.nonnegative_margin=0.1", "algorithm.grad_penalty_centre=1",
              "algorithm.discriminator.input_dropout=0.2", "algorithm.discriminator.dropout=0.3")),
    ("AIRL", ("imitation.state_only=true", "algorithm.reward_shaping=true")),
    ("AIRL", ("algorithm.reward_shaping=true", "algorithm.subtract_log_policy=true")),
    ("GAIL", ("imitation.bc_aux_loss=true", "bc_pretraining.iterations=20", "imitation.subsample=4")),
])
def test_smoke_runs_on_the_small_task(tmp_path, algorithm, extra):
    train(make_config(f"algorithm={algorithm}", *TINY, *extra), tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [150, 300]
    assert metrics["reward_correlation"].notna().any() and metrics["discriminator_loss"].notna().any()

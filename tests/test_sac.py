"""The SAC learner's math on hand-made batches (docs/ALGORITHMS.md §2)."""
from __future__ import annotations

import math

import pytest
import torch

from algorithms.sac import SoftActorCritic
from data.transitions import Transitions


def batch(obs, action=None, reward=None, next_obs=None, terminal=None, timeout=None, weight=None) -> Transitions:
    n = obs.shape[0]
    return Transitions(obs=obs, action=action if action is not None else torch.zeros(n, 1),
                       reward=reward if reward is not None else torch.zeros(n),
                       next_obs=next_obs if next_obs is not None else obs,
                       terminal=terminal if terminal is not None else torch.zeros(n),
                       timeout=timeout if timeout is not None else torch.zeros(n),
                       weight=weight if weight is not None else torch.ones(n))


def constant_target(sac: SoftActorCritic, values: list[float]) -> None:
    """Make target critic member j output values[j] everywhere."""
    with torch.no_grad():
        for parameter in sac.target_critic.parameters():
            parameter.zero_()
        sac.target_critic.net.net[-1].bias[:, 0, 0] = torch.tensor(values)


def fixed_policy(sac: SoftActorCritic, action: torch.Tensor, log_prob: torch.Tensor) -> None:
    sac.actor.sample = lambda obs: (action.expand(obs.shape[0], -1), log_prob.expand(obs.shape[0]))


def test_target_bootstraps_timeouts_but_not_terminations():
    sac = SoftActorCritic(3, 1, hidden_size=8, discount=0.9, learn_temperature=False, initial_temperature=0.5)
    constant_target(sac, [4.0, 3.0])  # min over the twin critics = 3
    fixed_policy(sac, torch.zeros(1, 1), torch.tensor([-2.0]))  # soft value = 3 - 0.5 * (-2) = 4
    rows = batch(torch.randn(3, 3), reward=torch.tensor([1.0, 1.0, 1.0]), terminal=torch.tensor([0.0, 1.0, 0.0]),
                 timeout=torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(sac.critic_target(rows), torch.tensor([1 + 0.9 * 4, 1.0, 1 + 0.9 * 4]))


def test_absorbing_next_state_has_no_entropy_bonus_and_zero_action():
    sac = SoftActorCritic(3, 1, hidden_size=8, discount=0.5, learn_temperature=False, initial_temperature=1.0,
                          absorbing=True)
    sac.target_critic.min = lambda obs, action: 10 * action[:, 0]  # reveals which action was bootstrapped
    fixed_policy(sac, torch.full((1, 1), 0.5), torch.tensor([float("nan")]))  # NaN must not leak when masked
    real_next, absorbing_next = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 1.0]])
    rows = batch(torch.zeros(2, 3), reward=torch.tensor([2.0, 2.0]), next_obs=torch.cat([absorbing_next, real_next]))
    target = sac.critic_target(rows)
    assert target[0] == 2.0  # r + gamma * Q(s_abs, 0), no entropy term
    assert torch.isnan(target[1])  # a real next state keeps its (here NaN) entropy term


def test_critic_regresses_reward_when_discount_is_negligible():
    torch.manual_seed(0)
    sac = SoftActorCritic(2, 1, hidden_size=32, discount=1e-6, learn_temperature=False, initial_temperature=1e-6,
                          critic_learning_rate=1e-2)
    obs = torch.randn(16, 2)
    rows = batch(obs, action=torch.rand(16, 1) * 2 - 1, reward=obs[:, 0] * 2 + 1)
    for _ in range(600):
        loss, _ = sac.soft_bellman_loss(rows)
        sac.critic_optimiser.zero_grad()
        loss.backward()
        sac.critic_optimiser.step()
    assert torch.allclose(sac.critic(rows.obs, rows.action), rows.reward.expand(2, -1), atol=0.05)


@pytest.mark.parametrize("target_temperature, direction", [(-100.0, -1), (100.0, 1)])
def test_temperature_moves_towards_target_entropy(target_temperature, direction):
    sac = SoftActorCritic(3, 2, hidden_size=8, target_temperature=target_temperature)
    alpha = sac.alpha.item()
    sac.update(batch(torch.randn(8, 3), action=torch.zeros(8, 2)))
    assert math.copysign(1, sac.alpha.item() - alpha) == direction


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_polyak_update(rho):
    sac = SoftActorCritic(3, 1, hidden_size=8, polyak_factor=rho)
    with torch.no_grad():
        for online, target in zip(sac.critic.parameters(), sac.target_critic.parameters()):
            online.fill_(2.0)
            target.fill_(1.0)
    sac.update_target()
    for target in sac.target_critic.parameters():
        assert torch.allclose(target, torch.full_like(target, rho * 1.0 + (1 - rho) * 2.0))


def test_actor_step_leaves_critic_untouched_and_critic_step_leaves_actor_untouched():
    sac = SoftActorCritic(3, 1, hidden_size=8, absorbing=True)
    rows = batch(torch.randn(8, 3), action=torch.rand(8, 1), reward=torch.randn(8))
    critic_before = [p.clone() for p in sac.critic.parameters()]
    actor_loss, _, _ = sac.actor_and_temperature_losses(rows)
    actor_loss.backward(inputs=list(sac.actor.parameters()))
    assert all(p.grad is None for p in sac.critic.parameters())
    sac.actor_optimiser.step()
    assert all(torch.equal(a, b) for a, b in zip(critic_before, sac.critic.parameters()))
    sac.actor.zero_grad(set_to_none=True)
    loss, _ = sac.soft_bellman_loss(rows)
    sac.critic_optimiser.zero_grad()
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in sac.actor.parameters())


def test_actor_loss_ignores_absorbing_states():
    sac = SoftActorCritic(3, 1, hidden_size=8, absorbing=True)
    real = torch.tensor([[0.3, -0.2, 0.0]])
    absorbing = torch.tensor([[0.0, 0.0, 1.0]])
    torch.manual_seed(0)
    alone, _, _ = sac.actor_and_temperature_losses(batch(real))
    torch.manual_seed(0)
    mixed, _, _ = sac.actor_and_temperature_losses(batch(torch.cat([real, absorbing])))
    assert torch.allclose(alone, mixed)


def test_a_non_finite_value_on_an_absorbing_row_does_not_reach_the_actor_loss():
    sac = SoftActorCritic(3, 1, hidden_size=8, absorbing=True)
    obs = torch.tensor([[0.3, -0.2, 0.0], [0.0, 0.0, 1.0]])
    nan_at_absorbing = lambda states, action: torch.where(states[:, -1] == 1, math.nan, 1.0)  # noqa: E731
    actor_loss, temperature_loss, _ = sac.actor_and_temperature_losses(batch(obs), nan_at_absorbing)
    assert math.isfinite(actor_loss.item()) and math.isfinite(temperature_loss.item())


# Absorbing-state bootstrapping: exact (DAC) and the reference's form ------------------------------------------

REAL, ABSORBING = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("form, targets", [
    # rows: real -> absorbing (final real row), absorbing -> absorbing (self-loop), real -> real.
    # Q_bar(s', a') = 10 a'; the policy samples a' = 0.5 with log pi = -2, so an unmasked V(s') = 5 + 2 = 7.
    ("exact", [2.0, 2.0, 2.0 + 0.5 * 7]),  # the next state's flag: V(s_abs) = Q_bar(s_abs, 0) = 0
    ("reference", [2.0 + 0.5 * 7, 2.0, 2.0 + 0.5 * 7]),  # the current state's flag: only the self-loop is masked
])
def test_critic_targets_of_both_absorbing_bootstrap_forms(form, targets):
    sac = SoftActorCritic(3, 1, hidden_size=8, discount=0.5, learn_temperature=False, initial_temperature=1.0,
                          absorbing=True, absorbing_bootstrap=form)
    sac.target_critic.min = lambda obs, action: 10 * action[:, 0]
    fixed_policy(sac, torch.full((1, 1), 0.5), torch.tensor([-2.0]))
    rows = batch(torch.cat([REAL, ABSORBING, REAL]), reward=torch.full((3,), 2.0),
                 next_obs=torch.cat([ABSORBING, ABSORBING, REAL]))
    assert sac.critic_target(rows).tolist() == pytest.approx(targets)


@pytest.mark.parametrize("form, actor_loss, temperature_loss", [
    # rows: real (Q 3), absorbing (Q 7); alpha 0.5, log pi -2, target entropy -1.
    ("exact", 0.5 * -2 - 3, -(0.5 * (-2 - 1))),  # the absorbing row is left out of both losses
    ("reference", ((0.5 * -2 - 3) + (0 - 7)) / 2, -(0.5 * (-2 - 1)) / 2),  # only its entropy terms are masked
])
def test_actor_and_temperature_losses_of_both_absorbing_bootstrap_forms(form, actor_loss, temperature_loss):
    sac = SoftActorCritic(3, 1, hidden_size=8, learn_temperature=False, initial_temperature=0.5,
                          target_temperature=-1.0, absorbing=True, absorbing_bootstrap=form)
    fixed_policy(sac, torch.zeros(1, 1), torch.tensor([-2.0]))
    q_real_3_absorbing_7 = lambda obs, action: 3 + 4 * obs[:, -1]  # noqa: E731
    losses = sac.actor_and_temperature_losses(batch(torch.cat([REAL, ABSORBING])), q_real_3_absorbing_7)
    assert [losses[0].item(), losses[1].item()] == pytest.approx([actor_loss, temperature_loss])


def test_reference_form_weights_only_the_entropy_term_and_averages_over_the_whole_batch():
    sac = SoftActorCritic(3, 1, hidden_size=8, learn_temperature=False, initial_temperature=0.5,
                          absorbing=True, absorbing_bootstrap="reference")
    fixed_policy(sac, torch.zeros(1, 1), torch.tensor([-2.0]))
    rows = batch(torch.cat([REAL, REAL]), weight=torch.tensor([0.25, 1.0]))
    actor_loss, _, _ = sac.actor_and_temperature_losses(rows, lambda obs, action: torch.full((2,), 3.0))
    assert actor_loss.item() == pytest.approx(((0.25 * 0.5 * -2 - 3) + (0.5 * -2 - 3)) / 2)


def test_an_unknown_absorbing_bootstrap_form_is_refused():
    with pytest.raises(ValueError, match="absorbing_bootstrap='dac'"):
        SoftActorCritic(3, 1, hidden_size=8, absorbing_bootstrap="dac")

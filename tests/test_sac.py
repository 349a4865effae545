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

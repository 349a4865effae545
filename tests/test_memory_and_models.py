"""Replay memory, absorbing-state storage, the actor's log-likelihood and the BC loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from algorithms.bc import bc_loss
from conftest import make_config
from data.memory import ReplayMemory
from data.transitions import Transitions
from envs.absorbing import absorbing_state
from errors import UserError
from models.actor import SquashedGaussianActor
from models.critic import EnsembleCritic
from training.loop import store_transition


def fill(memory: ReplayMemory, rewards) -> None:
    for reward in rewards:
        memory.append(np.zeros(3), np.zeros(1), reward, np.zeros(3), terminal=False, timeout=False)


def test_memory_wraps_around_and_overwrites_oldest_rows():
    memory = ReplayMemory(4, 3, 1, torch.device("cpu"))
    fill(memory, [1, 2, 3, 4, 5, 6])
    assert len(memory) == 4 and memory.position == 2
    assert sorted(memory.layout.split(memory.rows).reward.tolist()) == [3, 4, 5, 6]


def test_sampling_only_returns_written_rows():
    memory = ReplayMemory(100, 3, 1, torch.device("cpu"))
    fill(memory, [7, 8, 9])
    assert set(memory.sample(1000).reward.tolist()) == {7, 8, 9}


def test_termination_with_absorbing_states_stores_step_into_absorbing_state_and_self_loop():
    memory = ReplayMemory(10, 3, 1, torch.device("cpu"))
    obs, next_obs = np.array([0.5, 0.5, 0.0]), np.array([0.7, 0.7, 0.0])
    store_transition(memory, obs, np.array([0.3]), 1.5, next_obs, terminated=True, truncated=False, absorbing=True)
    rows = memory.layout.split(memory.rows[:len(memory)])
    s_abs = torch.as_tensor(absorbing_state(3))
    assert len(memory) == 2
    assert torch.equal(rows.next_obs[0], s_abs) and rows.terminal[0] == 0 and rows.reward[0] == 1.5
    assert torch.equal(rows.obs[1], s_abs) and torch.equal(rows.next_obs[1], s_abs)
    assert rows.action[1].item() == 0 and rows.reward[1] == 0 and rows.terminal[1] == 0


def test_time_limit_cut_is_a_bootstrapping_row_never_a_terminal():
    memory = ReplayMemory(10, 3, 1, torch.device("cpu"))
    next_obs = np.array([0.7, 0.7, 0.0])
    store_transition(memory, np.zeros(3), np.zeros(1), 1.0, next_obs, terminated=False, truncated=True, absorbing=True)
    store_transition(memory, np.zeros(3), np.zeros(1), 1.0, next_obs, terminated=True, truncated=False,
                     absorbing=False)
    rows = memory.layout.split(memory.rows[:len(memory)])
    assert rows.terminal.tolist() == [0, 1] and rows.timeout.tolist() == [1, 0]
    assert torch.allclose(rows.next_obs[0], torch.tensor(next_obs, dtype=torch.float32))


def test_memory_state_round_trip():
    memory = ReplayMemory(4, 3, 1, torch.device("cpu"))
    fill(memory, [1, 2, 3, 4, 5])
    restored = ReplayMemory(4, 3, 1, torch.device("cpu"))
    restored.load_state_dict(memory.state_dict())
    assert torch.equal(restored.rows, memory.rows) and restored.position == memory.position


def test_memory_saved_with_another_row_layout_is_refused_in_one_line():
    memory = ReplayMemory(4, 3, 1, torch.device("cpu"))
    fill(memory, [1, 2])
    state = memory.state_dict() | {"rows": memory.state_dict()["rows"][:, :-1]}
    with pytest.raises(UserError, match="replay rows have 11 columns where this version of the suite stores 12"):
        ReplayMemory(4, 3, 1, torch.device("cpu")).load_state_dict(state)


def test_actor_log_prob_matches_torch_tanh_gaussian():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(3, 2, 16, 2, "relu", -20.0, 2.0)
    obs, action = torch.randn(5, 3), torch.rand(5, 2) * 1.8 - 0.9
    mean, log_std = actor(obs)
    reference = TransformedDistribution(Normal(mean, log_std.exp()), TanhTransform()).log_prob(action).sum(-1)
    assert torch.allclose(actor.log_prob(obs, action), reference, atol=1e-4)
    sampled, sampled_log_prob = actor.sample(obs)
    assert torch.allclose(actor.log_prob(obs, sampled), sampled_log_prob, atol=1e-3)


def test_bc_loss_is_weighted_negative_log_likelihood_and_finite_at_action_bounds():
    actor = SquashedGaussianActor(3, 1, 16, 1, "tanh", -20.0, 2.0)
    obs, action = torch.randn(4, 3), torch.tensor([[-1.0], [1.0], [0.2], [0.0]])
    weight = torch.tensor([1.0, 0.5, 2.0, 1.0])
    rows = Transitions(obs, action, torch.zeros(4), obs, torch.zeros(4), torch.zeros(4), weight)
    expected = (weight * -actor.log_prob(obs, action)).mean()
    assert torch.isfinite(bc_loss(actor, rows)) and torch.allclose(bc_loss(actor, rows), expected)


def test_behavioural_cloning_fits_a_linear_expert():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(2, 1, 32, 2, "relu", -5.0, 2.0)
    optimiser = torch.optim.Adam(actor.parameters(), lr=3e-3)
    obs = torch.randn(256, 2)
    action = torch.tanh(obs @ torch.tensor([[0.8], [-0.5]]))
    rows = Transitions(obs, action, torch.zeros(256), obs, torch.zeros(256), torch.zeros(256), torch.ones(256))
    for _ in range(400):
        loss = bc_loss(actor, rows)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert (actor.deterministic(obs) - action).abs().mean() < 0.05


def test_ensemble_critic_members_are_independent_networks():
    critic = EnsembleCritic(3, 1, 2, 16, 2, "relu")
    q = critic(torch.randn(5, 3), torch.rand(5, 1))
    assert q.shape == (2, 5) and not torch.allclose(q[0], q[1])
    obs, action = torch.zeros(1, 3), torch.zeros(1, 1)
    assert torch.equal(critic.min(obs, action), critic(obs, action).min(0).values)


def test_extend_appends_rows_and_wraps_like_append():
    memory = ReplayMemory(5, 3, 1, torch.device("cpu"))
    fill(memory, [1, 2])
    rows = torch.zeros(4, memory.layout.width)
    rows[:, memory.layout.columns["reward"]] = torch.tensor([[10.0], [11.0], [12.0], [13.0]])
    memory.extend(rows)
    assert len(memory) == 5 and memory.position == 1
    assert sorted(memory.layout.split(memory.rows).reward.tolist()) == [2, 10, 11, 12, 13]


def test_a_task_with_discrete_actions_is_refused_with_one_clear_line():
    from envs.make import make_env
    cfg = make_config("env=inverted_pendulum", "env.id=CartPole-v1").env
    with pytest.raises(UserError, match=r"^env.id=CartPole-v1 has discrete observations or actions; the suite needs "
                                        r"continuous \(Box\) ones$"):
        make_env(cfg, absorbing=False)


def test_a_replay_memory_larger_than_the_machine_is_refused_before_it_is_allocated():
    with pytest.raises(UserError, match=r"^memory.size asks for a replay memory of [0-9.]+ GiB, more than the "
                                        r"[0-9.]+ GiB of this cpu device; lower memory.size$"):
        ReplayMemory(10**12, 3, 1, torch.device("cpu"))


def test_a_cuda_device_index_this_machine_lacks_is_one_clear_line(monkeypatch):
    from training.config import resolve_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserError, match=r"^device=cuda:3 but this machine has 1 CUDA device\(s\); use cuda:0 to "
                                        r"cuda:0, or device=auto$"):
        resolve_device("cuda:3")

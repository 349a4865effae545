"""DRIL, PWIL, RED, GMMIL, AdRIL and SQIL on hand-made inputs (docs/ALGORITHMS.md §7-§12), and smoke runs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from algorithms import algorithm_class
from algorithms.adril import relabelled_rewards
from algorithms.gmmil import kernel_mean, squared_mmd
from algorithms.pwil import GreedyCoupling
from algorithms.sac import SoftActorCritic
from conftest import TINY, make_config
from data.expert import ExpertData
from data.transitions import RowLayout, Transitions
from training.loop import train


def expert_data(obs: torch.Tensor, action: torch.Tensor, episodes: int = 1) -> ExpertData:
    layout = RowLayout(obs.shape[1], action.shape[1])
    rows = torch.zeros(len(obs), layout.width)
    rows[:, layout.columns["obs"]], rows[:, layout.columns["action"]] = obs, action
    rows[:, layout.columns["next_obs"]], rows[:, layout.columns["weight"]] = obs, 1.0
    return ExpertData(rows, layout, np.zeros(episodes), False, {})


def build(algorithm: str, expert: ExpertData, *overrides: str):
    cfg = make_config(f"algorithm={algorithm}", *TINY, *overrides)
    sac = SoftActorCritic.from_config(cfg, expert.layout.obs_size, expert.layout.action_size)
    return algorithm_class(cfg.algorithm["class"])(cfg, sac, expert)


def batch_of(obs: torch.Tensor, action: torch.Tensor) -> Transitions:
    n = len(obs)
    return Transitions(obs, action, torch.zeros(n), obs, torch.zeros(n), torch.zeros(n), torch.ones(n), torch.zeros(n))


# PWIL -----------------------------------------------------------------------------------------------------

def test_pwil_gives_exactly_alpha_to_an_agent_that_copies_the_expert():
    torch.manual_seed(0)
    horizon = 50
    obs, action = torch.randn(horizon, 4), torch.rand(horizon, 1) * 2 - 1
    method = build("PWIL", expert_data(obs, action), f"env.max_episode_steps={horizon}",
                   "algorithm.reward_scale=5.0")
    method.episode_started(0)
    rewards = [method.collection_reward(o.numpy(), a.numpy(), 0.0) for o, a in zip(obs, action)]
    assert rewards == pytest.approx([5.0] * horizon)
    method.episode_started(0)
    elsewhere = [method.collection_reward(o.numpy() + 3.0, a.numpy(), 0.0) for o, a in zip(obs, action)]
    assert all(0 < r < 5.0 for r in elsewhere)


def test_greedy_coupling_spends_exactly_the_step_mass_and_resets():
    coupling = GreedyCoupling(np.random.default_rng(0).normal(size=(30, 3)), step_mass=1 / 10 - 1e-6)
    before = coupling.mass.sum()
    for _ in range(5):
        coupling.cost(np.random.default_rng(1).normal(size=3))
        assert coupling.mass.sum() == pytest.approx(before - 1 / 10 + 1e-6, abs=1e-12)
        before = coupling.mass.sum()
    assert (coupling.mass >= 0).all()
    coupling.reset()
    assert np.allclose(coupling.mass, 1 / 30)


# GMMIL ----------------------------------------------------------------------------------------------------

def test_gmmil_mmd_is_zero_for_identical_batches_and_grows_with_distance():
    x, ones, bandwidths = torch.randn(32, 3), torch.ones(32), torch.tensor([1.0, 0.3])
    assert squared_mmd(x, x, ones, ones, bandwidths).item() == pytest.approx(0.0, abs=1e-6)
    distances = [squared_mmd(x, x + shift, ones, ones, bandwidths).item() for shift in (0.1, 0.5, 2.0)]
    assert distances == sorted(distances) and distances[0] > 0


def test_gmmil_reward_is_zero_on_identical_batches_and_permutation_invariant():
    torch.manual_seed(0)
    obs, action = torch.randn(16, 3), torch.rand(16, 1)
    method = build("GMMIL", expert_data(obs, action))
    expert = batch_of(obs, action)
    assert torch.allclose(method.relabel(expert, expert).reward, torch.zeros(16), atol=1e-6)
    agent = batch_of(torch.randn(16, 3), torch.rand(16, 1))
    order = torch.randperm(16)
    permuted = expert.map(lambda field: field[order])
    assert torch.allclose(method.relabel(agent, expert).reward, method.relabel(agent, permuted).reward, atol=1e-6)


def test_gmmil_witness_is_the_same_computed_in_chunks():
    x, y, weights, bandwidths = torch.randn(10, 3), torch.randn(7, 3), torch.rand(7), torch.tensor([1.0, 0.3])
    assert torch.allclose(kernel_mean(x, y, weights, bandwidths, chunk=3), kernel_mean(x, y, weights, bandwidths))


# RED ------------------------------------------------------------------------------------------------------

def test_red_rewards_use_the_predictor_without_dropout_also_when_pretraining_was_skipped_by_a_resume():
    obs, action = torch.randn(32, 4), torch.rand(32, 1)
    method = build("RED", expert_data(obs, action), "algorithm.network.dropout=0.5",
                   "algorithm.reward_bandwidth_scale=1.0")
    method.load_state_dict(method.state_dict())
    batch = batch_of(obs, action)
    assert torch.equal(method.relabel(batch).reward, method.relabel(batch).reward)


def test_red_reward_is_highest_on_the_expert_data_it_was_fitted_to():
    torch.manual_seed(0)
    obs, action = torch.randn(256, 4) * 0.1 + 1.0, torch.full((256, 1), 0.5)
    method = build("RED", expert_data(obs, action), "algorithm.pretraining_iterations=600",
                   "algorithm.network.learning_rate=3e-3", "training.batch_size=64",
                   "algorithm.bandwidth_median=matched_pairs")
    method.pretrain(lambda step, metrics: None)
    on_expert = method.relabel(batch_of(obs, action)).reward
    elsewhere = method.relabel(batch_of(torch.randn(256, 4) * 2, torch.rand(256, 1) * 2 - 1)).reward
    assert ((on_expert > 0) & (on_expert <= 1)).all() and on_expert.mean() > elsewhere.mean()
    calibration = method.relabel(batch_of(obs[:64], action[:64])).reward
    # the median prediction error of the calibration batch maps to exactly e^-1 (half the rows at or above it)
    assert (calibration - math.exp(-1)).abs().min().item() < 1e-6
    assert (calibration >= math.exp(-1) - 1e-6).float().mean().item() == pytest.approx(0.5, abs=1 / 64)
    method.predictor.load_state_dict(method.target.state_dict())
    assert torch.allclose(method.relabel(batch_of(obs, action)).reward, torch.ones(256))


class ModeDependent(nn.Module):
    """A stand-in predictor: 2x in training mode, x + 0.5 in eval mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x if self.training else x + 0.5


@pytest.mark.parametrize("pairs, median", [
    # predictions 2x = (0, 2, 6) against targets x = (0, 1, 3), every pair: squared errors
    # 0 1 9 / 4 1 1 / 36 25 9, median 4 (mean over the two equal features, so not their sum, 8)
    ("all_pairs", 4.0),
    # predictions x + 0.5 against x, each row with its own target: 0.25 each
    ("matched_pairs", 0.25),
])
def test_red_bandwidth_is_one_over_the_median_squared_error_of_the_first_expert_batch(pairs, median):
    x = torch.tensor([[0.0], [1.0], [3.0], [50.0], [60.0]])  # rows past the first batch (3) must not count
    method = build("RED", expert_data(x, x), "training.batch_size=3", f"algorithm.bandwidth_median={pairs}")
    method.predictor, method.target = ModeDependent(), nn.Identity()
    assert method.calibrated_bandwidth() == pytest.approx(1 / median)
    assert not method.predictor.training  # rewards are computed in eval mode


def test_red_default_is_the_reference_all_pairs_median():
    assert make_config("algorithm=RED").algorithm.bandwidth_median == "all_pairs"


# DRIL -----------------------------------------------------------------------------------------------------

def test_dril_rewards_follow_the_expert_disagreement_quantile():
    torch.manual_seed(0)
    obs, action = torch.randn(2000, 4), torch.tanh(torch.randn(2000, 1))
    method = build("DRIL", expert_data(obs, action), "algorithm.pretraining_iterations=50",
                   "algorithm.quantile_cutoff=0.8")
    method.pretrain(lambda step, metrics: None)
    rewards = method.relabel(batch_of(obs, action)).reward
    assert set(rewards.unique().tolist()) <= {-1.0, 1.0}
    assert (rewards == 1).float().mean().item() == pytest.approx(0.8, abs=0.05)


def test_dril_without_dropout_gives_every_row_plus_one():
    obs, action = torch.randn(100, 4), torch.tanh(torch.randn(100, 1))
    method = build("DRIL", expert_data(obs, action), "algorithm.pretraining_iterations=10",
                   "algorithm.network.input_dropout=0.0", "algorithm.network.dropout=0.0")
    method.pretrain(lambda step, metrics: None)
    assert torch.equal(method.relabel(batch_of(torch.randn(50, 4), torch.rand(50, 1))).reward, torch.ones(50))


# AdRIL and SQIL -------------------------------------------------------------------------------------------

def test_adril_rewards_follow_its_rounds():
    is_expert = torch.tensor([True, False, False, False])
    steps = torch.tensor([0.0, 2500.0, 2501.0, 100.0])
    rewards = relabelled_rewards(is_expert, steps, now=2600, update_freq=1250, expert_trajectories=5,
                                 agent_episodes=4)
    assert rewards.tolist() == pytest.approx([1 / 5, -1 / 4, 0.0, -1 / 4])
    assert relabelled_rewards(is_expert, steps, 2600, 0, 5, 4).tolist() == [1.0, 0.0, 0.0, 0.0]


def batches_seen(method, agent, expert, updates: int) -> list:
    """The batches `updates` learner updates of `method` hand to the SAC learner."""
    seen = []
    method.sac.update = lambda batch, *args, **kwargs: seen.append(batch) or {}
    for _ in range(updates):
        method.learner_update(agent, expert)
    return seen


def test_sqil_preset_alternates_whole_expert_batches_rewarded_one_and_agent_batches_rewarded_zero():
    obs, action = torch.randn(20, 4), torch.rand(20, 1)
    method = build("SQIL", expert_data(obs, action, episodes=2))
    agent, expert = batch_of(torch.randn(8, 4), torch.rand(8, 1)), batch_of(obs[:8], action[:8])
    seen = batches_seen(method, agent, expert, 3)
    assert [torch.equal(b.obs, rows.obs) for b, rows in zip(seen, (expert, agent, expert))] == [True] * 3
    assert [b.reward.tolist() for b in seen] == [[1.0] * 8, [0.0] * 8, [1.0] * 8]


def test_sqil_with_balanced_off_sees_half_expert_and_half_agent_rows_in_every_batch():
    torch.manual_seed(0)
    obs, action = torch.randn(20, 4), torch.rand(20, 1)
    method = build("SQIL", expert_data(obs, action), "algorithm.balanced=false")
    agent = batch_of(torch.randn(10, 4), torch.rand(10, 1))
    for batch in batches_seen(method, agent, batch_of(obs[:10], action[:10]), 2):
        assert batch.reward.tolist() == [1.0] * 5 + [0.0] * 5
        assert torch.equal(batch.obs[:5], obs[:5]) and torch.equal(batch.obs[5:], agent.obs[5:])


def test_balanced_adril_alternates_whole_expert_and_agent_batches():
    obs, action = torch.randn(20, 4), torch.rand(20, 1)
    method = build("AdRIL", expert_data(obs, action, episodes=2))
    agent, expert = batch_of(torch.randn(8, 4), torch.rand(8, 1)), batch_of(obs[:8], action[:8])
    seen = batches_seen(method, agent, expert, 3)
    assert [torch.equal(b.obs, expert.obs) for b in seen] == [True, False, True]
    assert seen[0].reward.tolist() == [0.5] * 8


def test_adril_takes_the_loops_episode_count_so_a_resumed_run_relabels_like_an_uninterrupted_one():
    method = build("AdRIL", expert_data(torch.randn(20, 4), torch.rand(20, 1)))
    method.load_state_dict({"updates": 1, "env_steps": 3000})  # the agent batch comes next, rows of step 0
    method.episode_started(4)  # the loop's count of completed episodes at the resumed reset
    seen = batches_seen(method, batch_of(torch.randn(8, 4), torch.rand(8, 1)), batch_of(torch.randn(8, 4),
                                                                                       torch.rand(8, 1)), 1)
    assert seen[0].reward.tolist() == [-1 / 4] * 8


# Smoke runs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm, extra", [
    ("DRIL", ("algorithm.pretraining_iterations=60",)), ("RED", ("algorithm.pretraining_iterations=60",)),
    ("GMMIL", ()), ("PWIL", ()), ("AdRIL", ("algorithm.update_freq=50",)), ("SQIL", ()),
    ("SQIL", ("imitation.absorbing_bootstrap=reference",)),
    ("GMMIL", ("imitation.mix_expert_data=prefill_memory",)), ("GMMIL", ("imitation.state_only=true",)),
    ("RED", ("algorithm.pretraining_iterations=60", "imitation.mix_expert_data=mixed_batch")),
])
def test_smoke_runs_on_the_small_task(tmp_path, algorithm, extra):
    train(make_config(f"algorithm={algorithm}", *TINY, *extra), tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [150, 300]
    assert metrics.dropna(subset=["critic_loss"])["step"].min() == 100


def test_expert_mixing_with_state_only_is_refused(tmp_path):
    from errors import UserError
    with pytest.raises(UserError, match="prefill_memory puts expert actions into SAC batches"):
        train(make_config("algorithm=GMMIL", *TINY, "imitation.mix_expert_data=prefill_memory",
                          "imitation.state_only=true"), tmp_path)

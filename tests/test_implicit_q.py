"""IQ-Learn and LS-IQ math on hand-made batches (docs/ALGORITHMS.md §13.8, §14.8), offline mode and smoke runs."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from algorithms import algorithm_class
from algorithms.sac import SoftActorCritic
from conftest import TINY, make_config
from data.expert import ExpertData
from data.transitions import RowLayout, Transitions
from errors import UserError
from training import loop
from training.loop import train


def build(algorithm: str, *overrides: str, obs_size: int = 2, action_size: int = 1, expert_rows=None):
    cfg = make_config(f"algorithm={algorithm}", *TINY, *overrides)
    sac = SoftActorCritic.from_config(cfg, obs_size, action_size)
    layout = RowLayout(obs_size, action_size)
    rows = expert_rows if expert_rows is not None else torch.zeros(4, layout.width)
    expert = ExpertData(rows, layout, torch.zeros(1).numpy(), False, {})
    return algorithm_class(cfg.algorithm["class"])(cfg, sac, expert), sac


def rows(obs, action, next_obs=None, terminal=None) -> Transitions:
    n = len(obs)
    return Transitions(obs, action, torch.zeros(n), obs if next_obs is None else next_obs,
                       torch.zeros(n) if terminal is None else terminal, torch.zeros(n), torch.ones(n))


def constant_critic(critic, value: float) -> None:
    with torch.no_grad():
        for parameter in critic.parameters():
            parameter.zero_()
        critic.net.net[-1].bias.fill_(value)


BRIDGING_LOSS = ("algorithm.form=iq_like", "algorithm.expert_term=bootstrap", "algorithm.policy_term=v0",
                 "algorithm.regulariser_rows=all")
PAPER_FORM = ("algorithm.form=sqil_like", "algorithm.expert_term=fix", "algorithm.policy_term=value",
              "algorithm.regulariser_rows=agent")


def test_lsiq_preset_is_the_bridging_loss_and_its_entropy_variants_keep_the_papers_form():
    def loss_form(algorithm: str) -> tuple[str, ...]:
        options = make_config(f"algorithm={algorithm}").algorithm
        return tuple(f"algorithm.{key}={options[key]}" for key in ("form", "expert_term", "policy_term",
                                                                    "regulariser_rows"))
    assert loss_form("LSIQ") == BRIDGING_LOSS
    assert loss_form("LSIQ_H") == loss_form("LSIQ_HC") == PAPER_FORM


def test_lsiq_constants_from_the_config():
    method, _ = build("LSIQ")
    assert (method.r_max, method.r_min, method.q_max, method.q_min) == pytest.approx((2, -2, 200, -200))
    method, _ = build("LSIQ", "algorithm.regulariser_coefficient=10.0")
    assert (method.r_max, method.q_max) == pytest.approx((0.1, 10))


@pytest.mark.parametrize("value", [1e6, -1e6, 3.0])
def test_every_lsiq_regression_target_lies_in_q_bounds(value):
    method, sac = build("LSIQ", "algorithm.treat_absorbing_states=true")
    constant_critic(sac.target_critic, value)
    batch = rows(torch.randn(6, 2), torch.rand(6, 1), terminal=torch.tensor([0, 1, 0, 1, 0, 0.0]))
    y = method.bootstrap_target(batch)
    is_expert = torch.tensor([False] * 3 + [True] * 3)
    expert_reward, mixture_reward = method.fixed_rewards(batch, is_expert)
    for target in (expert_reward + y, mixture_reward + y, torch.full_like(y, method.q_max)):
        assert ((target >= method.q_min - 1e-4) & (target <= method.q_max + 1e-4)).all()
    # treated terminal rows: Q_min for the agent's, but the expert's keep r_min in the mixture term (reference)
    assert mixture_reward.tolist() == pytest.approx([-2, -200, -2, -2, -2, -2])
    assert expert_reward.tolist() == pytest.approx([2, 200, 2, 200, 2, 2])


def test_lsiq_toy_chain_reaches_its_fixed_points():
    """Expert self-loop state E -> Q_max; agent-only self-loop state A with alpha ~ 0 -> V = r_min/(1-gamma).

    The mixture term runs over agent rows here (value_plcy), so that the expert state sees only the expert term.
    """
    torch.manual_seed(0)
    overrides = ("algorithm.form=sqil_like", "algorithm.expert_term=fix", "algorithm.policy_term=value_plcy",
                 "reinforcement.discount=0.5", "reinforcement.initial_temperature=1e-8",
                 "reinforcement.polyak_factor=0.0", "training.learning_rate=1e-2", "algorithm.actor_start=0",
                 "model.hidden_size=16")
    method, sac = build("LSIQ", *overrides)
    expert_state, agent_state = torch.tensor([[1.0, 0.0]]).repeat(16, 1), torch.tensor([[0.0, 1.0]]).repeat(16, 1)
    expert = rows(expert_state, torch.full((16, 1), 0.5))
    for _ in range(600):
        agent = rows(agent_state, sac.actor.sample(agent_state)[0].detach())
        method.learner_update(agent, expert)
    assert method.q_max == pytest.approx(4.0) and method.q_min == pytest.approx(-4.0)
    assert sac.critic.min(expert_state[:1], torch.full((1, 1), 0.5)).item() == pytest.approx(4.0, abs=0.1)
    assert method.soft_value(agent_state[:4], target=False).mean().item() == pytest.approx(-4.0, abs=0.1)


@pytest.mark.parametrize("value_loss", ["value", "v0"])
def test_iq_learn_constant_critic_identity(value_loss):
    """Q = k, alpha ~ 0, d = 0: implicit reward (1-gamma) k, expert and value terms cancel, chi2 = 1/2 (1-gamma)^2 k^2."""
    method, sac = build("IQLearn", f"algorithm.value_loss={value_loss}", "reinforcement.initial_temperature=1e-12")
    k, gamma = 3.0, sac.discount
    constant_critic(sac.critic, k)
    constant_critic(sac.target_critic, k)
    batch = rows(torch.randn(8, 2), torch.rand(8, 1))
    is_expert = torch.tensor([False] * 4 + [True] * 4)
    loss, metrics = method.critic_loss(batch, is_expert)
    assert metrics["reward_expert"].item() == pytest.approx((1 - gamma) * k, rel=1e-4)
    assert loss.item() == pytest.approx(0.5 * (1 - gamma) ** 2 * k ** 2, rel=1e-3)


@pytest.mark.parametrize("form", ["bridging", "paper"])
def test_lsiq_constant_critic_losses(form):
    """Q = k, alpha ~ 0, d = 0, so y = gamma k and r = (1-gamma) k. The bridging loss keeps IQ-Learn's identity
    (expert and v0 terms cancel, c = 1/2 leaves 1/2 (1-gamma)^2 k^2); the paper's form regresses the expert Q onto
    Q_max = 200 and V onto r_min + y = -2 + gamma k."""
    overrides = BRIDGING_LOSS if form == "bridging" else PAPER_FORM
    method, sac = build("LSIQ", *overrides, "reinforcement.initial_temperature=1e-12")
    k, gamma = 3.0, sac.discount
    constant_critic(sac.critic, k)
    constant_critic(sac.target_critic, k)
    batch = rows(torch.randn(8, 2), torch.rand(8, 1))
    loss, _ = method.critic_loss(batch, torch.tensor([False] * 4 + [True] * 4))
    expected = (0.5 * (1 - gamma) ** 2 * k ** 2 if form == "bridging"
                else (k - 200) ** 2 + ((1 - gamma) * k + 2) ** 2)
    assert loss.item() == pytest.approx(expected, rel=1e-3)


def test_iq_learn_regulariser_rows_all_or_expert():
    method, sac = build("IQLearn")
    sac.actor.sample = lambda obs: (torch.full((len(obs), 1), 0.3), torch.full((len(obs),), -1.0))
    batch = rows(torch.randn(8, 2), torch.rand(8, 1), terminal=torch.tensor([0, 1, 0, 0, 0, 0, 1, 0.0]))
    is_expert = torch.tensor([False] * 4 + [True] * 4)
    loss_all, _ = method.critic_loss(batch, is_expert)
    with torch.no_grad():
        reward = sac.critic(batch.obs, batch.action)[0] - (1 - batch.terminal) * sac.discount * \
            method.soft_value(batch.next_obs, target=True)
    method.options.regulariser_rows = "expert"
    loss_expert, _ = method.critic_loss(batch, is_expert)
    expected = 0.5 * ((reward ** 2).mean() - (reward[is_expert] ** 2).mean())
    assert (loss_all - loss_expert).item() == pytest.approx(expected.item(), rel=1e-4)


def test_iq_learn_reward_bootstraps_from_the_target_critic_and_not_on_terminal_rows():
    method, sac = build("IQLearn", "reinforcement.initial_temperature=1e-12", "algorithm.use_target=true")
    constant_critic(sac.critic, 2.0)
    constant_critic(sac.target_critic, 5.0)
    batch = rows(torch.randn(2, 2), torch.rand(2, 1), terminal=torch.tensor([1.0, 0.0]))
    reward = method.learned_reward(batch)
    assert reward.tolist() == pytest.approx([2.0, 2.0 - 5.0 * sac.discount], rel=1e-4)
    _, metrics = method.critic_loss(batch, torch.tensor([True, True]))
    assert metrics["reward_expert"].item() == pytest.approx(reward.mean().item(), rel=1e-4)


def test_iq_learn_critic_loss_gives_the_actor_no_gradient():
    method, sac = build("IQLearn", "algorithm.grad_penalty=10.0")
    batch = rows(torch.randn(8, 2), torch.rand(8, 1))
    loss, _ = method.critic_loss(batch, torch.tensor([False] * 4 + [True] * 4))
    loss.backward()
    assert all(p.grad is None for p in sac.actor.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in sac.critic.parameters())


@pytest.mark.parametrize("variant", ["LSIQ_H", "LSIQ_HC"])
def test_entropy_critic_targets(variant):
    method, sac = build(variant, "reinforcement.initial_temperature=1e-30")
    constant_critic(method.target_entropy_critic, 0.0)
    constant_critic(sac.target_critic, 1.0)
    batch = rows(torch.randn(6, 2), torch.rand(6, 1), terminal=torch.tensor([0, 1, 0, 1, 0, 1.0]))
    is_expert = torch.tensor([False] * 3 + [True] * 3)
    target = method.entropy_target(batch, is_expert)
    if variant == "LSIQ_H":  # alpha ~ 0 and H_bar = 0: the target is 0 (the fixed point), exactly so when d = 1
        assert torch.allclose(target, torch.zeros(6), atol=1e-20)
        assert torch.equal(target[batch.terminal.bool()], torch.zeros(3))
    else:  # terminal rows carry exactly the regulariser c (1 - gamma) clip(Q_bar(s,a))^2 = 0.5 * 0.01 * 1
        c, gamma = 0.5, sac.discount
        assert target[batch.terminal.bool()] == pytest.approx([c * (1 - gamma)] * 3, rel=1e-5)
        implicit = 1.0 - gamma * 1.0  # continuing rows: Q_bar(s,a) - gamma V_bar(s')
        assert target[~batch.terminal.bool()] == pytest.approx([c * implicit ** 2] * 3, rel=1e-4)


def test_offline_mode_never_steps_the_training_env(tmp_path, monkeypatch):
    def no_collection(self, run):
        raise AssertionError("offline training must not step the training environment")

    monkeypatch.setattr(loop.Collector, "__init__", no_collection)
    score = train(make_config("algorithm=LSIQ", *TINY, "imitation.offline=true", "steps=100",
                              "evaluation.interval=100"), tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert score == score and metrics.dropna(subset=["lsiq_loss"])["step"].tolist() == [50, 100]


@pytest.mark.parametrize("algorithm, extra", [
    ("IQLearn", ()), ("LSIQ", ()), ("LSIQ_H", ()), ("LSIQ_HC", ()),
    ("IQLearn", ("imitation.state_only=true",)), ("LSIQ", ("imitation.state_only=true",)),
    ("LSIQ", (*PAPER_FORM, "algorithm.loss=huber", "algorithm.treat_absorbing_states=true")),
    ("IQLearn", ("imitation.offline=true", "algorithm.value_loss=v0", "algorithm.divergence=js")),
])
def test_smoke_runs_on_the_small_task(tmp_path, algorithm, extra):
    train(make_config(f"algorithm={algorithm}", *TINY, "algorithm.actor_start=50", *extra), tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    evaluations = metrics.dropna(subset=["eval_score"])
    assert evaluations["step"].tolist() == [150, 300]
    assert {"reward_correlation", "return_correlation"} <= set(metrics)
    actor_rows = metrics.dropna(subset=["actor_loss"])["step"]
    if "imitation.offline=true" in extra:  # offline, the actor learns from the first update
        assert actor_rows.min() == metrics["step"].min()
    else:
        assert actor_rows.min() >= 100 + 50  # training.start, then actor_start=50 updates


def test_lsiq_iq_like_value_terms_combine_and_switch_off():
    method, sac = build("LSIQ", "algorithm.form=iq_like")
    sac.actor.sample = lambda obs: (torch.full((len(obs), 1), 0.3), torch.full((len(obs),), -1.0))
    batch = rows(torch.randn(8, 2), torch.rand(8, 1))
    is_expert = torch.tensor([False] * 4 + [True] * 4)
    with torch.no_grad():
        target = method.bootstrap_target(batch)
        reward = sac.critic(batch.obs, batch.action) - target
        terms = {term: method.iq_like_value_term(term, batch, is_expert, reward, target)
                 for term in ("value", "q_old_policy", "value_q_old_policy", "off")}
    assert torch.allclose(terms["q_old_policy"], reward[:, :4].mean(dim=-1))
    assert torch.allclose(terms["value_q_old_policy"], terms["value"] + terms["q_old_policy"])
    assert terms["off"].abs().sum() == 0


@pytest.mark.parametrize("algorithm", ["IQLearn", "LSIQ"])
def test_dac_absorbing_states_are_refused(algorithm):
    cfg = make_config(f"algorithm={algorithm}", "imitation.absorbing=true")
    with pytest.raises(UserError, match=f"algorithm={algorithm} masks true terminations .* imitation.absorbing=false"):
        algorithm_class(cfg.algorithm["class"]).check_config(cfg)


@pytest.mark.parametrize("algorithm", ["IQLearn", "LSIQ", "LSIQ_H"])
def test_the_reference_absorbing_bootstrap_is_refused_and_the_default_accepted(algorithm):
    default = make_config(f"algorithm={algorithm}")
    algorithm_class(default.algorithm["class"]).check_config(default)  # exact, the default, is accepted
    cfg = make_config(f"algorithm={algorithm}", "imitation.absorbing_bootstrap=reference")
    with pytest.raises(UserError, match=f"does not apply to algorithm={algorithm}, which has no absorbing states"):
        algorithm_class(cfg.algorithm["class"]).check_config(cfg)


def test_per_task_presets_follow_the_reference_value_terms():
    assert make_config("algorithm=IQLearn", "env=hopper").algorithm.value_loss == "v0"
    assert make_config("algorithm=IQLearn", "env=inverted_pendulum").algorithm.value_loss == "v0"
    assert make_config("algorithm=IQLearn", "env=halfcheetah").algorithm.value_loss == "value"
    assert make_config("algorithm=IQLearn", "env=ant").reinforcement.initial_temperature == pytest.approx(0.001)

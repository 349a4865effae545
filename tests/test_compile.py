"""training.compile: the SAC learner's losses through torch.compile, the same values as eager ones."""
from __future__ import annotations

import pytest
import torch
from torch._inductor import config as inductor_config

from algorithms.sac import SoftActorCritic
from conftest import TINY, make_config
from data.transitions import Transitions
from errors import UserError
from training import config as config_checks
from training.loop import train


def hand_made_batch(rows: int = 16) -> Transitions:
    generator = torch.Generator().manual_seed(0)
    obs, next_obs = torch.randn(rows, 4, generator=generator), torch.randn(rows, 4, generator=generator)
    return Transitions(obs, torch.rand(rows, 2, generator=generator) * 2 - 1, torch.randn(rows, generator=generator),
                       next_obs, torch.zeros(rows), torch.zeros(rows), torch.ones(rows))


def test_compiled_losses_equal_the_eager_ones_on_the_same_inputs_and_random_draws():
    torch.manual_seed(0)
    compiled = SoftActorCritic(4, 2, hidden_size=16, compile_losses=True)
    eager = SoftActorCritic(4, 2, hidden_size=16)
    eager.load_state_dict(compiled.state_dict())
    batch = hand_made_batch()
    losses = {}
    with inductor_config.patch(fallback_random=True):  # compiled code draws its noise as eager code does
        for name, learner in (("compiled", compiled), ("eager", eager)):
            torch.manual_seed(1)
            losses[name] = (learner.critic_step_loss(batch)[0], *learner.actor_step_losses(batch)[:2])
    for compiled_loss, eager_loss in zip(losses["compiled"], losses["eager"]):
        assert torch.allclose(compiled_loss, eager_loss, rtol=1e-5, atol=1e-6)


def test_a_run_with_compiled_losses_trains_and_evaluates(tmp_path):
    score = train(make_config("algorithm=SAC", *TINY, "training.compile=true"), tmp_path)
    assert (tmp_path / "result.json").exists() and score == score  # finite, not NaN


def test_compile_without_a_cpp_compiler_is_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(config_checks.shutil, "which", lambda name: None)
    with pytest.raises(UserError, match=r"^training.compile=true needs a C\+\+ compiler \(g\+\+ or clang\+\+\) on a "
                                        r"CPU; install one, or set training.compile=false$"):
        config_checks.check_config(make_config("algorithm=SAC", *TINY, "training.compile=true"))

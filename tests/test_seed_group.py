"""Several seeds in one process (`seeds=[...]`): each seed's folder holds what a single-seed run of that seed writes,
byte for byte; seeds are independent; a group resumes; a failing seed leaves the others to finish."""
from __future__ import annotations

import json
import logging

import pytest
from test_train_end_to_end import run_command

from conftest import TINY, make_config
from errors import UserError
from training import loop
from training.checkpoint import NonFiniteLossError
from training.loop import train

RANDOM_TRAJECTORIES = "imitation.trajectory_selection=random"  # each seed draws its own expert episodes
RUN_FILES = ("metrics.csv", "result.json", "config.yaml")
QUICK_PRETRAINING = {"RED": ["algorithm.pretraining_iterations=60"], "DRIL": ["algorithm.pretraining_iterations=60"]}


def run_files(run_dir) -> dict[str, bytes]:
    return {name: (run_dir / name).read_bytes() for name in RUN_FILES}


@pytest.mark.parametrize("algorithm", ["SAC", "GAIL", "IQLearn", "RED", "PWIL"])
def test_each_seed_of_a_group_writes_what_a_single_seed_run_writes(tmp_path, algorithm):
    arguments = [*TINY, f"algorithm={algorithm}", RANDOM_TRAJECTORIES, *QUICK_PRETRAINING.get(algorithm, ()),
                 *(["algorithm.actor_start=50"] if algorithm == "IQLearn" else [])]
    score = train(make_config(*arguments, "seeds=[1,2]"), tmp_path / "group")
    alone = train(make_config(*arguments, "seed=2"), tmp_path / "alone")
    assert run_files(tmp_path / "group" / "seed_2") == run_files(tmp_path / "alone")
    group = json.loads((tmp_path / "group" / "result.json").read_text())
    seed_scores = {f"seed_{s}": json.loads((tmp_path / "group" / f"seed_{s}" / "result.json").read_text())["score"]
                   for s in (1, 2)}
    assert group["scores"] == seed_scores and seed_scores["seed_2"] == alone
    assert score == group["score"] == pytest.approx(sum(seed_scores.values()) / 2)


def test_a_seed_is_not_influenced_by_the_other_seeds_of_its_group(tmp_path):
    arguments = [*TINY, "algorithm=GAIL", RANDOM_TRAJECTORIES]
    train(make_config(*arguments, "seeds=[1,2]"), tmp_path / "a")
    train(make_config(*arguments, "seeds=[3,1]"), tmp_path / "b")
    assert run_files(tmp_path / "a" / "seed_1") == run_files(tmp_path / "b" / "seed_1")
    assert run_files(tmp_path / "a" / "seed_2") != run_files(tmp_path / "b" / "seed_3")


class Killed(Exception):
    """Stands in for SIGKILL."""


def test_a_group_killed_between_two_seeds_checkpoints_resumes_to_what_an_uninterrupted_group_writes(
        tmp_path, monkeypatch):
    arguments = [*TINY, "algorithm=SAC", "seeds=[1,2]", "checkpoint.interval=60"]
    train(make_config(*arguments), tmp_path / "uninterrupted")
    original = loop.save_run

    def save_or_die(run, episode=None):  # seed 1 saves its step-120 checkpoint, then the process dies
        if run.cfg.seed == 2 and run.progress.step == 120:
            raise Killed
        original(run, episode)

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Killed), monkeypatch.context() as patch:
        patch.setattr(loop, "save_run", save_or_die)
        train(make_config(*arguments), interrupted)
    train(make_config(*arguments, f"resume={interrupted}"), interrupted)  # seed 2 catches up from step 60
    for seed in (1, 2):
        assert run_files(interrupted / f"seed_{seed}") == run_files(tmp_path / "uninterrupted" / f"seed_{seed}")
    assert (interrupted / "result.json").read_bytes() == (tmp_path / "uninterrupted" / "result.json").read_bytes()


def test_resuming_a_group_with_a_seed_that_saved_no_checkpoint_names_that_seed(tmp_path):
    train(make_config(*TINY, "algorithm=SAC", "seeds=[1,2]", "steps=150"), tmp_path)
    with pytest.raises(UserError, match=rf"^resume={tmp_path} holds no checkpoint.pt \(seed_3 of that group\); "):
        train(make_config(*TINY, "algorithm=SAC", "seeds=[1,2,3]", "steps=300", f"resume={tmp_path}"), tmp_path)
    assert not [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", "").startswith(str(tmp_path))]


def test_a_seed_whose_loss_becomes_non_finite_stops_and_the_others_finish(tmp_path, monkeypatch):
    original = loop.StepLoop.advance_to

    def diverge(step_loop, step):
        if step_loop.run.cfg.seed == 2 and step == 200:
            raise NonFiniteLossError("non-finite critic_loss")
        original(step_loop, step)

    monkeypatch.setattr(loop.StepLoop, "advance_to", diverge)
    with pytest.raises(UserError, match=r"non-finite critic_loss at step 199; .*seed_2"):
        train(make_config(*TINY, "algorithm=SAC", "seeds=[1,2,3]"), tmp_path)
    assert all((tmp_path / f"seed_{seed}" / "result.json").exists() for seed in (1, 3))
    assert not (tmp_path / "seed_2" / "result.json").exists() and (tmp_path / "seed_2" / "checkpoint.pt").exists()
    assert not (tmp_path / "result.json").exists()


@pytest.mark.parametrize("algorithm", ["BC", "SAC", "GAIL", "AIRL", "FAIRL", "DRIL", "PWIL", "RED", "GMMIL", "AdRIL",
                                       "SQIL", "IQLearn", "LSIQ"])
def test_every_method_trains_a_group_of_three_seeds_end_to_end(tmp_path, algorithm):
    train(make_config(*TINY, f"algorithm={algorithm}", "seeds=[1,2,3]", "steps=200", "evaluation.interval=200",
                      "checkpoint.interval=200", "bc_pretraining.iterations=20", *QUICK_PRETRAINING.get(algorithm, ())),
          tmp_path)
    scores = json.loads((tmp_path / "result.json").read_text())["scores"]
    assert set(scores) == {"seed_1", "seed_2", "seed_3"}
    for seed in (1, 2, 3):
        assert json.loads((tmp_path / f"seed_{seed}" / "result.json").read_text())["seed"] == seed
        assert (tmp_path / f"seed_{seed}" / "agent.pt").exists()


def test_each_seed_keeps_its_own_log(tmp_path):
    result = run_command("algorithm=SAC", *TINY, "steps=150", "seeds=[4,5]", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    for seed, other in ((4, 5), (5, 4)):
        log = (tmp_path / f"seed_{seed}" / "train.log").read_text()
        assert f"seed {seed}: step 150: return" in log and f"seed {other}" not in log
    assert "seed 4: step 150" in (tmp_path / "train.log").read_text()


@pytest.mark.parametrize("arguments, message", [
    (["seeds=[1,1]"], "seeds=[1, 1] is invalid; it must be a list of distinct integers >= 0"),
    (["seeds=[]"], "seeds=[] is invalid"),
    (["seeds=[1,-2]"], "seeds=[1, -2] is invalid"),
    (["seeds=3"], "seeds=3 is invalid"),
    (["seed=2", "seeds=[1,2]"], "give seed=<s> (one run) or seeds=[...] (several in one process), not both"),
])
def test_bad_seeds_are_one_error_line(tmp_path, arguments, message):
    result = run_command("algorithm=SAC", *TINY, *arguments, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ") and message in last_line

"""Exact resume: a run killed at any step and resumed from its last checkpoint writes the same metrics.csv and
result.json, byte for byte, as a run that was never interrupted."""
from __future__ import annotations

import logging

import pytest

from conftest import TINY, make_config
from training import loop
from training.loop import train


class Killed(Exception):
    """Stands in for SIGKILL: the run stops mid-step, leaving its files as a kill would."""


def kill_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    original = loop.Collector.step

    def step_or_die(collector: loop.Collector) -> float | None:
        if collector.run.progress.step == step:
            raise Killed
        return original(collector)

    monkeypatch.setattr(loop.Collector, "step", step_or_die)


def files(run_dir) -> tuple[bytes, bytes]:
    return (run_dir / "metrics.csv").read_bytes(), (run_dir / "result.json").read_bytes()


@pytest.mark.parametrize("env, algorithm", [("inverted_pendulum", "SAC"), ("hopper", "SAC"),
                                            ("inverted_pendulum", "PWIL")])
def test_a_run_killed_at_several_points_and_resumed_writes_what_an_uninterrupted_run_writes(
        tmp_path, monkeypatch, env, algorithm):
    arguments = [*TINY, f"env={env}", f"algorithm={algorithm}", "checkpoint.interval=60", "imitation.trajectories=2"]
    train(make_config(*arguments), tmp_path / "uninterrupted")
    interrupted = tmp_path / "interrupted"
    with pytest.raises(Killed), monkeypatch.context() as patch:
        kill_at(patch, 70)  # mid-episode, ten steps after the checkpoint at step 60
        train(make_config(*arguments), interrupted)
    for kill_step in (130, 250):  # killed again after each resume
        with pytest.raises(Killed), monkeypatch.context() as patch:
            kill_at(patch, kill_step)
            train(make_config(*arguments, f"resume={interrupted}"), interrupted)
    train(make_config(*arguments, f"resume={interrupted}"), interrupted)
    assert files(interrupted) == files(tmp_path / "uninterrupted")


def test_a_task_whose_state_cannot_be_saved_restarts_its_episode_and_says_so(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(loop, "environment_state", lambda env: None)
    arguments = [*TINY, "algorithm=SAC", "checkpoint.interval=60"]
    with pytest.raises(Killed), monkeypatch.context() as patch:
        kill_at(patch, 70)
        train(make_config(*arguments), tmp_path)
    with caplog.at_level(logging.WARNING):
        train(make_config(*arguments, f"resume={tmp_path}"), tmp_path)
    assert "cannot be saved, so the resumed run starts a new episode" in caplog.text
    assert (tmp_path / "result.json").exists()

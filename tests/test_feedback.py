"""What a run tells its user while it runs: the evaluation log line, grouped TensorBoard tags, W&B logging."""
from __future__ import annotations

import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from errors import UserError
from training.logger import WANDB_ID_NAME, MetricsLog, grouped_tag
from training.loop import evaluation_line


def test_the_evaluation_line_gives_step_return_score_and_correlations_when_there_are_any():
    result = {"step": 20000, "eval_return": 1234.56, "eval_return_std": 78.9, "eval_score": 0.3812,
              "eval_terminated": 0.4}
    assert evaluation_line(result) == "step 20000: return 1234.6 ± 78.9, score 0.381, 40% terminated"
    result |= {"reward_correlation": 0.1234, "return_correlation": 0.9}
    assert evaluation_line(result) == ("step 20000: return 1234.6 ± 78.9, score 0.381, 40% terminated, "
                                       "reward corr. 0.123, return corr. 0.900")


def test_an_evaluation_records_the_share_of_its_episodes_that_ended_by_termination(tmp_path):
    import pandas as pd

    from conftest import TINY, make_config
    from training.loop import train
    train(make_config("algorithm=SAC", *TINY, "env=hopper", "evaluation.episodes=4"), tmp_path)
    evaluations = pd.read_csv(tmp_path / "metrics.csv").dropna(subset=["eval_score"])
    assert evaluations["eval_terminated"].between(0, 1).all()
    assert evaluations["eval_terminated"].iloc[0] == 1.0  # an untrained hopper falls in every episode


def test_metrics_get_grouped_names_for_tensorboard_and_wandb():
    assert grouped_tag("eval_score") == "eval/score" and grouped_tag("eval_return_std") == "eval/return_std"
    assert grouped_tag("critic_loss") == "train/critic_loss" and grouped_tag("train_return") == "train/train_return"
    assert grouped_tag("discriminator_loss") == "reward_model/discriminator_loss"
    assert grouped_tag("reward_correlation") == "reward_model/reward_correlation"
    assert grouped_tag("bc_loss", pretraining=True) == "pretraining/bc_loss"


def test_tensorboard_events_carry_the_grouped_tags(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=True)
    log.write(-10, {"bc_loss": 1.5, "pretraining_iteration": 10})
    log.write(100, {"critic_loss": 0.5, "discriminator_loss": 1.2})
    log.write(150, {"eval_score": 0.25})
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"pretraining/bc_loss", "pretraining/pretraining_iteration",
                                             "train/critic_loss", "reward_model/discriminator_loss", "eval/score"}
    assert [(e.step, e.value) for e in events.Scalars("eval/score")] == [(150, 0.25)]


def test_wandb_logs_grouped_metrics_offline_and_a_resumed_run_continues_the_same_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    log = MetricsLog(tmp_path, tensorboard=False, wandb={"project": "test", "config": {"seed": 3}})
    logged, send = [], log.wandb.log
    monkeypatch.setattr(log.wandb, "log", lambda data, step: (logged.append((step, data)), send(data, step=step)))
    log.write(-10, {"bc_loss": 1.0, "pretraining_iteration": 10})  # W&B steps only increase: not sent
    log.write(100, {"critic_loss": 0.5})
    log.write(150, {"eval_score": 0.25})
    assert logged == [(100, {"train/critic_loss": 0.5}), (150, {"eval/score": 0.25})]
    assert log.wandb.config["seed"] == 3
    first_id = log.wandb.id
    log.close()
    offline_runs = list((tmp_path / "wandb").glob(f"offline-run-*-{first_id}"))
    assert (tmp_path / WANDB_ID_NAME).read_text() == first_id and offline_runs
    resumed = MetricsLog(tmp_path, tensorboard=False, resume_step=150, wandb={"project": "test", "config": {}})
    assert resumed.wandb.id == first_id
    resumed.close()


def test_the_seeds_of_a_group_log_to_separate_wandb_runs_at_the_same_time(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    logs = []
    for seed in (1, 2):
        (tmp_path / f"seed_{seed}").mkdir()
        logs.append(MetricsLog(tmp_path / f"seed_{seed}", tensorboard=False,
                               wandb={"project": "test", "config": {"seed": seed}}))
    assert logs[0].wandb.id != logs[1].wandb.id and [log.wandb.config["seed"] for log in logs] == [1, 2]
    for log in logs:
        log.close()


def test_wandb_without_the_package_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(UserError, match=r"^logging.wandb=true needs the wandb package: pip install wandb"):
        MetricsLog(tmp_path, tensorboard=False, wandb={"project": "test", "config": {}})

"""train.py and make_expert_data.py end to end on the small task, resume after a kill, and bad input."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from algorithms import algorithm_class
from conftest import REPO_ROOT, TINY, make_config
from data.sources import EpisodeSet, read_minari
from data.transitions import Transitions
from errors import UserError
from scripts.make_expert_data import make_expert_data, train_expert
from training.config import check_config
from training.evaluation import Episodes
from training.logger import MetricsLog
from training.loop import train
from training.provenance import code_version
from training.reward_correlation import reward_correlations
from training.run import Progress
from training.run_directory import hold_run_directory, in_use


def run_command(*arguments: str, script: str = "train.py", timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, script, *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env=os.environ | {"PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"})


def test_sac_run_writes_every_output(tmp_path):
    result = run_command("algorithm=SAC", *TINY, "logging.tensorboard=true", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    for name in ("config.yaml", ".hydra/config.yaml", "metrics.csv", "checkpoint.pt", "agent.pt", "agent_best.pt",
                 "returns.png",
                 "diagnostics.png", "result.json"):
        assert (tmp_path / name).exists(), name
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert "step 150: return " in (tmp_path / "train.log").read_text()  # one line per evaluation
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [150, 300]
    assert metrics.dropna(subset=["critic_loss"])["step"].min() == 100
    result_json = json.loads((tmp_path / "result.json").read_text())
    assert result_json["score"] == pytest.approx(metrics["eval_score"].mean())
    assert result_json["code_version"] == code_version()
    assert result_json["torch_threads"] == "1"


def test_code_version_and_threads_are_taken_when_a_run_starts_and_again_when_it_resumes(monkeypatch):
    from training import provenance
    progress = Progress()
    for version, threads in (("abc", 1), ("abc", 2), ("def-dirty", 1)):
        monkeypatch.setattr(provenance, "code_version", lambda version=version: version)
        monkeypatch.setattr(torch, "get_num_threads", lambda threads=threads: threads)
        provenance.record_provenance(progress)
    assert progress.code_version == "abc + def-dirty"
    assert progress.torch_threads == "1 + 2"


def test_bc_run_trains_from_the_shipped_dataset_and_evaluates_once(tmp_path):
    result = run_command("algorithm=BC", *TINY, "bc_pretraining.iterations=200", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    bc_rows = metrics.dropna(subset=["bc_loss"])
    assert bc_rows["pretraining_iteration"].tolist() == [50, 100, 150, 200]
    assert bc_rows["step"].tolist() == [-150, -100, -50, 0]  # before the first environment step
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [0]
    assert json.loads((tmp_path / "result.json").read_text())["steps"] == 0


@pytest.mark.parametrize("algorithm", ["SAC", "IQLearn", "LSIQ", "GAIL"])
def test_same_seed_same_metrics(tmp_path, algorithm):
    """Bit-identical runs for one seed, evaluations and learned-reward correlations included."""
    scores = [train(make_config(f"algorithm={algorithm}", *TINY, "evaluation.interval=100"), tmp_path / name)
              for name in ("a", "b")]
    assert scores[0] == scores[1]
    assert (tmp_path / "a" / "metrics.csv").read_text() == (tmp_path / "b" / "metrics.csv").read_text()


def test_stochastic_evaluation_adds_its_scores_and_leaves_the_run_unchanged(tmp_path):
    overrides = ("algorithm=IQLearn", *TINY, "evaluation.interval=100")
    train(make_config(*overrides), tmp_path / "plain")
    train(make_config(*overrides, "evaluation.stochastic=true"), tmp_path / "stochastic")
    plain, stochastic = (pd.read_csv(tmp_path / name / "metrics.csv") for name in ("plain", "stochastic"))
    added = ["eval_return_stochastic", "eval_score_stochastic"]
    pd.testing.assert_frame_equal(stochastic.drop(columns=added), plain)
    evaluations = stochastic.dropna(subset=["eval_score"])
    assert evaluations[added].notna().all().all()
    assert not np.allclose(evaluations["eval_return_stochastic"], evaluations["eval_return"])


def test_reward_correlations_per_transition_and_per_episode_return():
    """Three episodes whose learned reward falls where the true one rises, step by step, but whose learned
    returns still grow with the true returns, because both grow with episode length."""
    true_reward = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 1.0])
    episode = torch.tensor([0, 0, 1, 1, 1, 2])
    transitions = Transitions(*(torch.zeros(6, 1),) * 2, true_reward, *(torch.zeros(6),) * 4)
    returns = np.array([3.0, 12.0, 1.0])
    learned = 10 - true_reward
    correlations = reward_correlations(learned, Episodes(returns, transitions, episode))
    assert correlations["reward_correlation"] == pytest.approx(-1.0)
    learned_returns = [17.0, 18.0, 9.0]
    assert correlations["return_correlation"] == pytest.approx(np.corrcoef(learned_returns, returns)[0, 1])
    assert correlations["return_correlation"] > 0.5


def test_a_run_killed_with_sigkill_and_resumed_writes_what_an_uninterrupted_run_writes(tmp_path):
    arguments = ["algorithm=SAC", *TINY, "steps=3000", "checkpoint.interval=200", "evaluation.interval=1000"]
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "train.py", *arguments, f"hydra.run.dir={killed}"], cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=os.environ | {"OMP_NUM_THREADS": "1"})
    deadline = time.time() + 180
    while not (killed / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    assert in_use(killed)  # the training process holds its run directory
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not in_use(killed)  # and the kill released it
    killed_at = torch.load(killed / "checkpoint.pt", weights_only=False)["progress"].step
    assert 0 < killed_at < 3000
    result = run_command(f"resume={killed}", "logging.progress_bar=false")
    assert result.returncode == 0, result.stderr
    metrics = pd.read_csv(killed / "metrics.csv")
    assert metrics.dropna(subset=["critic_loss"])["step"].tolist() == list(range(100, 3001, 50))  # each row once
    assert metrics.dropna(subset=["eval_score"])["step"].tolist() == [1000, 2000, 3000]
    assert run_command(*arguments, f"hydra.run.dir={tmp_path / 'whole'}").returncode == 0
    for name in ("metrics.csv", "result.json"):
        assert (killed / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_a_fresh_run_refuses_a_directory_that_holds_another_runs_metrics(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,eval_score\n100,0.5\n")
    with pytest.raises(UserError, match=f"^run directory {tmp_path} already holds a run's metrics.csv; continue "
                                        f"that run with resume={tmp_path}"):
        train(make_config("algorithm=SAC", *TINY), tmp_path)
    assert (tmp_path / "metrics.csv").read_text() == "step,eval_score\n100,0.5\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["metrics.csv"]


def test_a_resume_under_changed_learning_settings_is_refused_and_one_that_extends_steps_is_recorded(tmp_path):
    train(make_config("algorithm=SAC", *TINY), tmp_path)
    made_with = (tmp_path / "config.yaml").read_text()
    (tmp_path / "config.yaml").write_text(made_with.replace("discount: 0.99", "discount: 0.9"))  # an older default
    with pytest.raises(UserError, match=f"^resume={tmp_path} would change settings the run was made with "
                                        f"\\(reinforcement.discount=0.9, now 0.99: .*\\); add "
                                        f"reinforcement.discount=0.9 to resume it as it was made"):
        train(make_config("algorithm=SAC", *TINY, f"resume={tmp_path}", "steps=450"), tmp_path)
    assert pd.read_csv(tmp_path / "metrics.csv")["step"].max() == 300  # nothing was trained
    (tmp_path / "config.yaml").write_text(made_with)
    train(make_config("algorithm=SAC", *TINY, f"resume={tmp_path}", "steps=450"), tmp_path)
    assert "steps: 450" in (tmp_path / "config.yaml").read_text()


def test_a_run_directory_another_process_is_training_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"the other process's checkpoint")
    held = hold_run_directory(tmp_path)  # another open file, which holds the lock as another process would
    with pytest.raises(UserError, match=f"^run directory {tmp_path} is in use by another training process "
                                        f"\\(pid {os.getpid()}\\); let that process finish"):
        train(make_config("algorithm=SAC", *TINY, f"resume={tmp_path}"), tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"the other process's checkpoint"
    assert in_use(tmp_path)
    held.close()
    assert not in_use(tmp_path)


def test_a_resumed_metrics_log_keeps_pretraining_rows_and_drops_rows_after_the_checkpoint(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=False)
    for step, values in ((-50, {"red_loss": 2.0, "pretraining_iteration": 50}), (0, {"red_loss": 1.0,
                         "pretraining_iteration": 100}), (100, {"critic_loss": 0.5}), (200, {"critic_loss": 0.4})):
        log.write(step, values)
    MetricsLog(tmp_path, tensorboard=False, resume_step=100)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["step"].tolist() == [-50, 0, 100]
    assert metrics["red_loss"].tolist()[:2] == [2.0, 1.0]
    # rewrites keep each cell as it was written: integers stay integers and missing values stay empty
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "step,red_loss,pretraining_iteration,critic_loss", "-50,2.0,50,", "0,1.0,100,", "100,,,0.5"]


def test_a_resumed_metrics_log_drops_a_row_cut_short_by_a_kill(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,critic_loss\n100,0.5\n150,0.4\n2")  # killed while writing step 200
    MetricsLog(tmp_path, tensorboard=False, resume_step=150)
    assert (tmp_path / "metrics.csv").read_text() == "step,critic_loss\n100,0.5\n150,0.4\n"


def test_make_expert_data_end_to_end(tmp_path):
    result = run_command("env=inverted_pendulum", "steps=300", "training.start=100", "model.hidden_size=32",
                         "evaluation.interval=150", "evaluation.episodes=1", "logging.progress_bar=false",
                         "expert.episodes=2", "expert.random_episodes=3", f"expert.work_dir={tmp_path / 'work'}",
                         f"expert.output_root={tmp_path / 'root'}", "expert.dataset_id=test/ip/expert-v0",
                         script="scripts/make_expert_data.py")
    assert result.returncode == 0, result.stderr
    metadata = json.loads((tmp_path / "root/test/ip/expert-v0/data/metadata.json").read_text())
    generation = metadata["generation"]
    assert metadata["total_episodes"] == 2 and generation["expert_training_steps"] == 300
    assert metadata["ref_max_score"] == pytest.approx(generation["expert_return_mean"])
    assert generation["random_episodes"] == 3 and "make_expert_data.py" in generation["command"]
    again = run_command("env=inverted_pendulum", "steps=300", "model.hidden_size=32", "expert.episodes=1",
                        "expert.random_episodes=1", f"expert.work_dir={tmp_path / 'work'}", "expert.select=best",
                        f"expert.output_root={tmp_path / 'root'}", "expert.dataset_id=test/ip/expert-v0",
                        script="scripts/make_expert_data.py")
    assert again.returncode == 0 and "using the finished expert" in again.stdout
    evaluations = pd.read_csv(tmp_path / "work/metrics.csv").dropna(subset=["eval_return"])
    best_step = evaluations["step"][evaluations["eval_return"].idxmax()]
    metadata = json.loads((tmp_path / "root/test/ip/expert-v0/data/metadata.json").read_text())
    assert metadata["generation"]["expert_training_steps"] == best_step
    wrong = run_command("env=inverted_pendulum", "expert.select=worst", script="scripts/make_expert_data.py")
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines()[-1] == \
        "error: expert.select=worst is unknown; use one of final, best"
    unversioned = run_command("env=inverted_pendulum", "expert.dataset_id=test/ip/expert",
                              f"expert.work_dir={tmp_path / 'unused'}", script="scripts/make_expert_data.py")
    assert unversioned.returncode == 2 and unversioned.stderr.strip().splitlines()[-1] == (
        "error: expert.dataset_id=test/ip/expert is not a Minari dataset id; give [namespace/]name-v<version>, "
        "e.g. ilbench/hopper/expert-v2")
    assert not (tmp_path / "unused" / "metrics.csv").exists()  # refused before training


def test_make_expert_data_records_a_shipped_policy_with_sampled_actions_reproducibly(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    shipped = "experts/ilbench/inverted_pendulum/expert-v0"

    def record(actions: str, dataset_id: str) -> EpisodeSet:
        make_expert_data(make_config(
            "env=inverted_pendulum", f"expert.actions={actions}", f"expert.policy={REPO_ROOT / shipped}/policy.pt",
            "expert.episodes=2", "expert.random_episodes=1", f"expert.output_root={tmp_path}",
            f"expert.dataset_id={dataset_id}", config_name="make_expert_data"))
        return read_minari(dataset_id, download=False)

    sampled, again, mean = record("sampled", "test/ip/a-v0"), record("sampled", "test/ip/b-v0"), \
        record("deterministic", "test/ip/c-v0")
    generation = sampled.metadata["generation"]
    assert generation["actions"] == "sampled" and generation["policy_file"].endswith(f"{shipped}/policy.pt")
    assert generation["expert_training_steps"] == 30000  # read from the shipped dataset's metadata
    assert mean.metadata["generation"]["actions"] == "deterministic"
    for first, second, deterministic in zip(sampled.episodes, again.episodes, mean.episodes):
        np.testing.assert_array_equal(first.action, second.action)  # the same seed, the same samples
        assert not np.allclose(first.action[:10], deterministic.action[:10])


def test_make_expert_data_refuses_several_seeds(tmp_path):
    cfg = make_config("env=inverted_pendulum", "seeds=[1,2]", f"expert.work_dir={tmp_path}",
                      config_name="make_expert_data")
    with pytest.raises(UserError, match=r"^make_expert_data.py trains and records one expert: give seed=<s>, not"):
        make_expert_data(cfg)
    assert not any(tmp_path.iterdir())


def test_make_expert_data_refuses_a_work_dir_whose_run_saved_no_checkpoint(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,train_return\n100,5.0\n")
    cfg = make_config("env=inverted_pendulum", config_name="make_expert_data")
    with pytest.raises(UserError, match="saved no checkpoint; delete that directory or choose another expert.work_dir"):
        train_expert(cfg, tmp_path)


@pytest.mark.parametrize("arguments, message", [
    (["algorithm=GAIIL"], "unknown algorithm 'GAIIL'; choose one of: AIRL, AdRIL, BC, DRIL, FAIRL, GAIL, GMMIL"),
    (["env=hoper"], "unknown env 'hoper'; choose one of:"),
    (["trainng.batch_size=3"], "unknown config key 'trainng.batch_size'; did you mean training.batch_size?"),
    (["reinforcement.discount=1.5"], "reinforcement.discount=1.5 is invalid; it must be a number in (0, 1)"),
    (["steps=0"], "steps=0 is invalid; it must be an integer > 0"),
    (["training.batch_size=-4"], "training.batch_size=-4 is invalid; it must be an integer > 0"),
    (["algorithm=BC", "imitation.trajectories=500"], "imitation.trajectories=500 but Minari dataset"),
    (["env.dataset.id=nobody/none/expert-v0"], "expert dataset 'nobody/none/expert-v0' not found"),
    (["resume=/nonexistent/run"], "is not a run directory"),
    (["algorithm=SAC", "env.id=NotAnEnv-v0"], "env.id=NotAnEnv-v0 cannot be made (Environment `NotAnEnv` doesn't exist"),
    (["algorithm=SAC", "+env.kwargs.bogus=1"], "env.kwargs={'bogus': 1} do not fit env.id=InvertedPendulum-v5"),
    (["hydra.run.dir=/proc/x"], "hydra.run.dir=/proc/x cannot be written (No such file or directory in /proc)"),
    (["-m", "seed=1,2", "hydra.sweep.dir=/proc/y"], "hydra.sweep.dir=/proc/y cannot be written"),
])
def test_bad_input_stops_with_one_line(arguments, message, tmp_path):
    run_dir = [] if any(a.startswith("hydra.") for a in arguments) else [f"hydra.run.dir={tmp_path / 'run'}"]
    result = run_command("algorithm=BC" if "algorithm" not in arguments[0] else arguments[0], *TINY,
                         *[a for a in arguments if not a.startswith("algorithm")], *run_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr
    assert not (tmp_path / "run").exists()  # no stub run folder (.hydra/, an empty log) is left behind


def test_a_run_directory_under_a_file_is_refused_before_hydra_creates_it(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = run_command("algorithm=SAC", *TINY, f"hydra.run.dir={tmp_path / 'file' / 'run'}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (f"error: hydra.run.dir={tmp_path / 'file' / 'run'} cannot be "
                                                      f"created: {tmp_path / 'file'} is not a directory; choose "
                                                      f"another hydra.run.dir")


def test_a_failed_command_keeps_a_run_folder_that_holds_more_than_hydras_stub(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run_command("algorithm=SAC", *TINY, "env.id=NotAnEnv-v0", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / ".hydra").is_dir()


@pytest.mark.parametrize("arguments, line", [
    (["algorithm=RED", "algorithm.bandwidth_median=mean"],
     "error: algorithm.bandwidth_median=mean is unknown; use one of all_pairs, matched_pairs"),
    (["algorithm=SQIL", "imitation.absorbing_bootstrap=dac"],
     "error: imitation.absorbing_bootstrap='dac' is invalid; it must be exact or reference"),
    (["algorithm=IQLearn", "imitation.absorbing_bootstrap=reference"],
     "error: imitation.absorbing_bootstrap=reference does not apply to algorithm=IQLearn, which has no absorbing "
     "states; leave it at exact"),
])
def test_bad_fidelity_option_stops_with_one_error_line(arguments, line):
    result = run_command(*arguments, *TINY)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == line


def test_dataset_of_another_env_is_refused(tmp_path):
    result = run_command("algorithm=BC", *TINY, "env=hopper", "env.dataset.id=ilbench/inverted_pendulum/expert-v0")
    assert result.returncode != 0 and "observation/action sizes 4/1 but the env has 11/3" in result.stderr


def test_non_finite_loss_stops_the_run_and_keeps_checkpoint_and_metrics(tmp_path, monkeypatch):
    from algorithms.sac import SoftActorCritic
    original = SoftActorCritic.update
    calls = []

    def update_then_diverge(self, batch, *args, **kwargs):
        metrics = original(self, batch, *args, **kwargs)
        calls.append(1)
        return metrics | ({"critic_loss": torch.tensor(float("nan"))} if len(calls) > 120 else {})

    monkeypatch.setattr(SoftActorCritic, "update", update_then_diverge)
    with pytest.raises(UserError, match="non-finite critic_loss at step 250"):
        train(make_config("algorithm=SAC", *TINY, "checkpoint.interval=100"), tmp_path)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["progress"].step == 200
    assert pd.read_csv(tmp_path / "metrics.csv")["step"].max() == 250


def test_algorithm_presets_override_the_shared_defaults():
    assert make_config("algorithm=BC").bc_pretraining.iterations == 50000
    assert make_config("algorithm=SAC").bc_pretraining.iterations == 0
    assert make_config("algorithm=BC", "bc_pretraining.iterations=7").bc_pretraining.iterations == 7


def test_seed_sweep_with_multirun(tmp_path):
    result = run_command("-m", "algorithm=SAC", *TINY, "steps=150", "seed=1,2", f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    seeds = [json.loads((tmp_path / job / "result.json").read_text())["seed"] for job in ("0", "1")]
    assert seeds == [1, 2]


def test_sac_with_bc_pretraining_and_bc_auxiliary_loss(tmp_path):
    train(make_config("algorithm=SAC", *TINY, "bc_pretraining.iterations=100", "imitation.bc_aux_loss=true"), tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    bc_rows = metrics.dropna(subset=["bc_loss"])
    pretraining = bc_rows.dropna(subset=["pretraining_iteration"])
    assert pretraining["pretraining_iteration"].tolist() == [50, 100] and pretraining["step"].tolist() == [-50, 0]
    auxiliary = bc_rows[bc_rows["pretraining_iteration"].isna()]["step"]
    assert set(range(100, 301, 50)) <= set(auxiliary)  # the auxiliary loss, logged with every update row
    assert metrics["step"].is_monotonic_increasing


def test_state_only_refuses_methods_that_need_expert_actions(tmp_path):
    with pytest.raises(UserError, match="needs expert actions; set imitation.state_only=false"):
        train(make_config("algorithm=BC", *TINY, "imitation.state_only=true"), tmp_path)


def test_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    import minari

    def offline(dataset_id, download=False):
        raise ConnectionError("[Errno -2] Name or service not known\nmore detail")

    monkeypatch.setattr(minari, "load_dataset", offline)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    cfg = make_config("algorithm=BC", *TINY, "env=humanoid")
    with pytest.raises(UserError, match=r"could not download Minari dataset 'mujoco/humanoid/expert-v0' "
                                        r"\(\[Errno -2\] Name or service not known\)"):
        train(cfg, tmp_path / "run")


def test_optimised_hyperparameter_presets_compose_and_check_their_algorithm(tmp_path):
    cfg = make_config("algorithm=GAIL", "optimised_hyperparameters=GAIL_5_trajectories")
    assert cfg.imitation.trajectories == 5 and cfg.algorithm.reward_function == "AIRL"
    assert cfg.training.batch_size == 1024 and cfg.algorithm.loss_function == "Mixup"
    for preset in (REPO_ROOT / "conf" / "optimised_hyperparameters").glob("*.yaml"):
        algorithm = preset.stem.split("_")[0]
        tuned = make_config(f"algorithm={algorithm}", f"optimised_hyperparameters={preset.stem}")
        check_config(tuned)
        algorithm_class(tuned.algorithm["class"]).check_config(tuned)
        assert tuned.tuned_for == algorithm
    with pytest.raises(UserError, match="tuned for GAIL, not SAC; run it with algorithm=GAIL"):
        train(make_config("algorithm=SAC", *TINY, "optimised_hyperparameters=GAIL_5_trajectories"), tmp_path)
    result = run_command("optimised_hyperparameters=GAIL_55_trajectories")
    assert "unknown optimised_hyperparameters 'GAIL_55_trajectories'" in result.stderr

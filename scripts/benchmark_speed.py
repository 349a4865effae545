"""Steps per second of the real training loop (SAC on hopper, batch 256, 256x256 networks, one update per
environment step), and of stable-baselines3's SAC with the same settings when it is installed
(`pip install -r requirements-benchmark.txt`).

    python scripts/benchmark_speed.py [--steps 2000] [--start 1000]

Each learner runs twice, for start + 500 and start + 500 + steps environment steps; the time difference
divided by `steps` is the cost of one step after warm-up, free of start-up, warm-up and final-evaluation cost.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

from training.loop import train  # noqa: E402

BATCH, HIDDEN = 256, 256


def time_suite(total_steps: int, start: int) -> float:
    overrides = ["algorithm=SAC", "env=hopper", f"steps={total_steps}", f"training.start={start}",
                 f"training.batch_size={BATCH}", f"model.hidden_size={HIDDEN}", "model.depth=2",
                 "imitation.absorbing=false", f"evaluation.interval={total_steps + 1}", "evaluation.episodes=1",
                 f"checkpoint.interval={total_steps + 1}", "logging.tensorboard=false", "logging.progress_bar=false",
                 "device=cpu"]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base=None):
        cfg = compose(config_name="config", overrides=overrides)
    with tempfile.TemporaryDirectory() as run_dir:
        began = time.perf_counter()
        train(cfg, Path(run_dir))
        return time.perf_counter() - began


def time_stable_baselines(total_steps: int, start: int) -> float:
    import gymnasium as gym
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", gym.make("Hopper-v5"), batch_size=BATCH, learning_starts=start, train_freq=1,
                gradient_steps=1, buffer_size=total_steps, policy_kwargs={"net_arch": [HIDDEN, HIDDEN]},
                device="cpu", seed=1, verbose=0)
    began = time.perf_counter()
    model.learn(total_steps)
    return time.perf_counter() - began


def steps_per_second(timer, steps: int, start: int) -> float:
    short, long = timer(start + 500, start), timer(start + 500 + steps, start)
    return steps / (long - short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="measured environment steps (each with an update)")
    parser.add_argument("--start", type=int, default=1000, help="environment steps before the first update")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    ours = steps_per_second(time_suite, args.steps, args.start)
    print(f"this suite's SAC: {ours:.1f} steps/s")
    try:
        import stable_baselines3
    except ImportError:
        print("stable-baselines3 is not installed: pip install -r requirements-benchmark.txt to compare")
        return
    theirs = steps_per_second(time_stable_baselines, args.steps, args.start)
    print(f"stable-baselines3 {stable_baselines3.__version__} SAC: {theirs:.1f} steps/s")
    print(f"ratio: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()

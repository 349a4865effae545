"""Steps per second of the real training loop (SAC on hopper, batch 256, 256x256 networks, one update per
environment step), and of stable-baselines3's SAC with the same settings when it is installed
(`pip install -r requirements-benchmark.txt`); with --algorithms, also of other methods, relative to SAC.
First, the time of one SoftActorCritic.update alone (hopper's shapes, a random batch). With --seeds N, this suite
trains N seeds in one process (seeds=[1..N]) and reports agent-steps/s: environment steps of all seeds per second.

    python scripts/benchmark_speed.py [--steps 2000] [--start 1000] [--algorithms SAC PWIL] [--trajectories 25]
                                      [--warmup 500] [--precision fp32] [--device cpu] [--compile] [--seeds 1]

Each learner runs twice, for start + warmup and start + warmup + steps environment steps; the time difference
divided by `steps` is the cost of one step after warm-up, free of start-up, warm-up and final-evaluation cost.
Methods that need expert data use hopper's dataset when it is there, and otherwise a synthetic dataset of
--trajectories random 1000-step episodes of hopper's shapes (the cost per step does not depend on the values).
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from functools import partial
from pathlib import Path

import h5py
import numpy as np
import torch
from hydra import compose, initialize_config_dir

from algorithms.sac import SoftActorCritic
from data.sources import find_minari_dataset
from data.transitions import Transitions
from models.precision import PRECISIONS
from training.loop import train

REPO_ROOT = Path(__file__).resolve().parent.parent

BATCH, HIDDEN = 256, 256
HOPPER_OBS, HOPPER_ACTIONS = 11, 3


def synthetic_hopper_dataset(path: Path, trajectories: int) -> Path:
    """A D4RL-layout file of random 1000-step hopper-shaped episodes, for timing only."""
    rng = np.random.default_rng(0)
    rows = trajectories * 1000
    timeouts = np.zeros(rows, dtype=bool)
    timeouts[999::1000] = True
    with h5py.File(path, "w") as file:
        file["observations"] = rng.normal(size=(rows, 11)).astype(np.float32)
        file["next_observations"] = rng.normal(size=(rows, 11)).astype(np.float32)
        file["actions"] = rng.uniform(-1, 1, size=(rows, 3)).astype(np.float32)
        file["rewards"] = np.zeros(rows, dtype=np.float32)
        file["terminals"] = np.zeros(rows, dtype=bool)
        file["timeouts"] = timeouts
    return path


def hopper_learner_and_batch(precision: str, device: str, compile_losses: bool = False
                             ) -> tuple[SoftActorCritic, Transitions]:
    """A SAC learner of the benchmark's size for hopper's shapes, and a random batch for it."""
    sac = SoftActorCritic(HOPPER_OBS, HOPPER_ACTIONS, hidden_size=HIDDEN, precision=precision,
                          compile_losses=compile_losses).to(device)
    rows = [torch.randn(BATCH, HOPPER_OBS), torch.rand(BATCH, HOPPER_ACTIONS) * 2 - 1, torch.randn(BATCH),
            torch.randn(BATCH, HOPPER_OBS), torch.zeros(BATCH), torch.zeros(BATCH), torch.ones(BATCH)]
    return sac, Transitions(*(field.to(device) for field in rows))


def time_update(precision: str, device: str, compile_losses: bool = False, repeats: int = 50) -> float:
    """Median seconds of one SoftActorCritic.update on a random batch of hopper's shapes, after warm-up (which
    includes compiling the losses with compile_losses)."""
    sac, batch = hopper_learner_and_batch(precision, device, compile_losses)
    durations = []
    for _ in range(repeats + 5):
        began = time.perf_counter()
        sac.update(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        durations.append(time.perf_counter() - began)
    return float(np.median(durations[5:]))


def time_suite(total_steps: int, start: int, algorithm: str = "SAC", extra: tuple[str, ...] = ()) -> float:
    overrides = [f"algorithm={algorithm}", "env=hopper", f"steps={total_steps}", f"training.start={start}",
                 f"training.batch_size={BATCH}", f"model.hidden_size={HIDDEN}", "model.depth=2",
                 "imitation.absorbing=false", f"evaluation.interval={total_steps + 1}", "evaluation.episodes=1",
                 f"checkpoint.interval={total_steps + 1}", "logging.tensorboard=false", "logging.progress_bar=false",
                 *extra]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base=None):
        cfg = compose(config_name="config", overrides=overrides)
    with tempfile.TemporaryDirectory() as run_dir:
        began = time.perf_counter()
        train(cfg, Path(run_dir))
        return time.perf_counter() - began


def time_stable_baselines(total_steps: int, start: int, device: str) -> float:
    import gymnasium as gym
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", gym.make("Hopper-v5"), batch_size=BATCH, learning_starts=start, train_freq=1,
                gradient_steps=1, buffer_size=total_steps, policy_kwargs={"net_arch": [HIDDEN, HIDDEN]},
                device=device, seed=1, verbose=0)
    began = time.perf_counter()
    model.learn(total_steps)
    return time.perf_counter() - began


def steps_per_second(timer, steps: int, start: int, warmup: int) -> float:
    short, long = timer(start + warmup, start), timer(start + warmup + steps, start)
    return steps / (long - short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="measured environment steps (each with an update)")
    parser.add_argument("--start", type=int, default=1000, help="environment steps before the first update")
    parser.add_argument("--warmup", type=int, default=500, help="steps with updates before the measured ones")
    parser.add_argument("--algorithms", nargs="+", default=["SAC"], help="methods to time besides SAC")
    parser.add_argument("--trajectories", type=int, default=25, help="episodes of the synthetic expert dataset")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="this suite's precision key")
    parser.add_argument("--device", default="cpu", help="torch device of both suites")
    parser.add_argument("--compile", action="store_true", help="this suite with training.compile=true")
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained in one process by this suite")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, python {platform.python_version()}; device {args.device}, "
          f"precision {args.precision}" + (", compiled losses" if args.compile else "")
          + (f", {args.seeds} seeds in one process" if args.seeds > 1 else ""))
    print(f"one SoftActorCritic.update (batch {BATCH}, hopper's shapes): "
          f"{time_update(args.precision, args.device, args.compile) * 1e3:.2f} ms")
    settings = (f"precision={args.precision}", f"device={args.device}", f"training.compile={str(args.compile).lower()}",
                *([f"seeds=[{','.join(str(seed) for seed in range(1, args.seeds + 1))}]"] if args.seeds > 1 else []))
    ours = args.seeds * steps_per_second(partial(time_suite, extra=settings), args.steps, args.start, args.warmup)
    unit = "agent-steps/s (all seeds)" if args.seeds > 1 else "steps/s"
    print(f"this suite's SAC: {ours:.1f} {unit}")
    with tempfile.TemporaryDirectory() as scratch:
        dataset = []
        if not find_minari_dataset("ilbench/hopper/expert-v1"):
            path = synthetic_hopper_dataset(Path(scratch) / "expert.hdf5", args.trajectories)
            dataset = ["env.dataset.source=hdf5", f"env.dataset.path={path}"]
        for algorithm in (a for a in args.algorithms if a != "SAC"):
            extra = (*settings, *dataset, f"imitation.trajectories={args.trajectories}")
            rate = args.seeds * steps_per_second(partial(time_suite, algorithm=algorithm, extra=extra), args.steps,
                                                 args.start, args.warmup)
            print(f"this suite's {algorithm}: {rate:.1f} {unit} ({rate / ours:.2f}x SAC's)"
                  + (" on a synthetic dataset" if dataset else ""))
    try:
        import stable_baselines3
    except ImportError:
        print("stable-baselines3 is not installed: pip install -r requirements-benchmark.txt to compare")
        return
    theirs = steps_per_second(partial(time_stable_baselines, device=args.device), args.steps, args.start,
                              args.warmup)
    print(f"stable-baselines3 {stable_baselines3.__version__} SAC: {theirs:.1f} steps/s")
    print(f"ratio: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()

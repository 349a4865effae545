"""Where the time of one training step goes (SAC on hopper, batch 256, 256x256 networks):

    python scripts/profile_update.py [--precision fp32] [--device cpu] [--compile] [--output FILE]

Times, on this machine: one SoftActorCritic.update, split by the torch profiler into dense matrix products and
everything else (elementwise ops, reductions, optimiser steps, dispatch), with the number of tensor ops it
launches and the mean cost of each op that is not a product; one action of the policy; one MuJoCo step; and one
step of a 30-episode evaluation, with the share of a 10k-step evaluation interval an evaluation takes when its
episodes last 1000 steps. Run it with the thread count of the training runs it should explain
(OMP_NUM_THREADS=1 for two runs side by side on two cores).
"""
from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from models.precision import PRECISIONS
from scripts.benchmark_speed import BATCH, HIDDEN, hopper_learner_and_batch

DENSE_PRODUCTS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}
EVALUATION_EPISODES, EVALUATION_INTERVAL, EPISODE_STEPS = 30, 10_000, 1000


def median_seconds(action: Callable[[], object], repeats: int, warmup: int = 5) -> float:
    durations = []
    for _ in range(warmup + repeats):
        began = time.perf_counter()
        action()
        durations.append(time.perf_counter() - began)
    return float(np.median(durations[warmup:]))


def update_profile(precision: str, device: str, compile_losses: bool, updates: int = 20) -> dict[str, float]:
    """Wall time of one update, and the profiler's self CPU time in dense products and in all other ops."""
    sac, batch = hopper_learner_and_batch(precision, device, compile_losses)
    wall = median_seconds(lambda: sac.update(batch), repeats=50)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(updates):
            sac.update(batch)
    events = profiler.key_averages()
    dense = sum(event.self_cpu_time_total for event in events if event.key in DENSE_PRODUCTS) / updates / 1e6
    other = sum(event.self_cpu_time_total for event in events if event.key not in DENSE_PRODUCTS) / updates / 1e6
    products = sum(event.count for event in events if event.key in DENSE_PRODUCTS) / updates
    operations = sum(event.count for event in events) / updates
    return {"wall": wall, "dense": dense, "other": other, "products": products, "operations": operations}


def environment_costs(device: str) -> dict[str, float]:
    """One policy action, one MuJoCo step, and one step of a batched evaluation over 30 episodes."""
    sac, _ = hopper_learner_and_batch("fp32", device)
    env = gym.make("Hopper-v5")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    obs = np.zeros(env.observation_space.shape, dtype=np.float32)
    evaluation_obs = np.zeros((EVALUATION_EPISODES, *env.observation_space.shape), dtype=np.float32)

    def env_step() -> None:
        if env.step(rng.uniform(-1, 1, 3))[2]:
            env.reset()

    def evaluation_step() -> None:
        for action in sac.act(evaluation_obs, deterministic=True):
            env.step(action)
            env.reset()  # keeps the simulator in a state it can step from; a reset costs about what a step does

    return {"act": median_seconds(lambda: sac.act(obs), repeats=500),
            "env_step": median_seconds(env_step, repeats=2000),
            "evaluation_step": median_seconds(evaluation_step, repeats=50)}


def report(precision: str, device: str, compile_losses: bool) -> str:
    update, env = update_profile(precision, device, compile_losses), environment_costs(device)
    non_product_ops = update["operations"] - update["products"]
    training_step = update["wall"] + env["act"] + env["env_step"]
    evaluation = env["evaluation_step"] * EPISODE_STEPS
    rows = [
        ("one update (wall)", f"{update['wall'] * 1e3:.2f} ms",
         f"{update['operations']:.0f} tensor ops, {update['products']:.0f} of them dense products"),
        ("  dense products (profiler, self time)", f"{update['dense'] * 1e3:.2f} ms",
         f"{update['dense'] / (update['dense'] + update['other']):.0%} of the profiled op time"),
        ("  all other ops (profiler, self time)", f"{update['other'] * 1e3:.2f} ms",
         f"{update['other'] / non_product_ops * 1e6:.1f} us per op"),
        ("one policy action", f"{env['act'] * 1e3:.3f} ms", ""),
        ("one MuJoCo step", f"{env['env_step'] * 1e3:.3f} ms", ""),
        ("one training step (update + action + MuJoCo step)", f"{training_step * 1e3:.2f} ms",
         f"{1 / training_step:.0f} steps/s; the update is {update['wall'] / training_step:.0%} of it"),
        (f"one evaluation ({EVALUATION_EPISODES} episodes of {EPISODE_STEPS} steps)", f"{evaluation:.2f} s",
         f"{evaluation / (evaluation + EVALUATION_INTERVAL * training_step):.1%} of an evaluation interval "
         f"({EVALUATION_INTERVAL} steps)"),
    ]
    header = (f"SAC on hopper, batch {BATCH}, {HIDDEN}x{HIDDEN} networks, precision {precision}, "
              f"{'compiled' if compile_losses else 'eager'} losses, device {device}, "
              f"{torch.get_num_threads()} torch thread(s); {platform.processor() or platform.machine()}, "
              f"torch {torch.__version__}\n\n| what | time | notes |\n|---|---:|---|\n")
    return header + "\n".join(f"| {what} | {time_} | {notes} |" for what, time_, notes in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="with training.compile=true (compiled losses)")
    parser.add_argument("--output", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args()
    table = report(args.precision, args.device, args.compile)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")


if __name__ == "__main__":
    main()

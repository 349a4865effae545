"""What batching the networks of several seeds would gain on this machine: the SAC update's dense work (critic
step: target and online critics forward, backward, AdamW; actor step: actor and critics forward, backward, AdamW;
hopper's shapes, batch 256, 256x256 networks, two critics) for S seeds, once as S separate single-seed networks
and once as one network whose weights carry a leading seed dimension (batched products over seeds x critics).

    python scripts/probe_seed_batching.py [--seeds 1 4 8] [--precision fp32] [--repeats 20]

The suite's seed groups (`seeds=[...]`) do not batch today; this probe says what the batched form would buy for the
dense work, the bulk of an update. The real update's many other small ops (scripts/profile_update.py counts them)
would also be paid once instead of S times. Run it with the thread count the runs would use.
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import time

import numpy as np
import torch

from models.precision import PRECISIONS

BATCH, HIDDEN, OBS, ACTIONS, CRITICS = 256, 256, 11, 3, 2


class BatchedNetworks:
    """`members` MLPs (in -> 256 -> 256 -> out) as stacked weights, evaluated with batched products."""

    def __init__(self, members: int, input_size: int, output_size: int):
        sizes = [(input_size, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, output_size)]
        self.weights = [(torch.randn(members, i, o) / i ** 0.5).requires_grad_() for i, o in sizes]
        self.biases = [torch.zeros(members, 1, o, requires_grad=True) for _, o in sizes]

    def parameters(self) -> list[torch.Tensor]:
        return self.weights + self.biases

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)
            if index < len(self.weights) - 1:
                x = torch.relu(x)
        return x.float()


class SacShapedLearner:
    """The dense work of one SAC update for `seeds` seeds, with the seeds' networks batched together."""

    def __init__(self, seeds: int, precision: str):
        self.seeds = seeds
        self.actor = BatchedNetworks(seeds, OBS, 2 * ACTIONS)
        self.critic = BatchedNetworks(seeds * CRITICS, OBS + ACTIONS, 1)
        self.target = BatchedNetworks(seeds * CRITICS, OBS + ACTIONS, 1)
        self.actor_optimiser = torch.optim.AdamW(self.actor.parameters(), fused=True)
        self.critic_optimiser = torch.optim.AdamW(self.critic.parameters(), fused=True)
        self.autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" \
            else contextlib.nullcontext
        self.obs, self.next_obs = torch.randn(seeds, BATCH, OBS), torch.randn(seeds, BATCH, OBS)
        self.action = torch.rand(seeds, BATCH, ACTIONS) * 2 - 1

    def q_values(self, critic: BatchedNetworks, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(seeds, critics, batch): each seed's input goes to its own critics."""
        inputs = torch.cat([obs, action], -1).repeat_interleave(CRITICS, 0)
        return critic(inputs).view(self.seeds, CRITICS, BATCH)

    def update(self) -> None:
        """Each loss is the sum over seeds of the seed's own mean, so the seeds' gradients stay apart."""
        with torch.no_grad(), self.autocast():
            next_action = torch.tanh(self.actor(self.next_obs)[..., :ACTIONS])
            target = self.q_values(self.target, self.next_obs, next_action).min(1).values
        with self.autocast():
            critic_loss = ((self.q_values(self.critic, self.obs, self.action) - target[:, None]) ** 2).mean(-1).sum()
        self.critic_optimiser.zero_grad()
        critic_loss.backward()
        self.critic_optimiser.step()
        with self.autocast():
            action = torch.tanh(self.actor(self.obs)[..., :ACTIONS])
            actor_loss = -self.q_values(self.critic, self.obs, action).min(1).values.mean(-1).sum()
        self.actor_optimiser.zero_grad()
        actor_loss.backward(inputs=self.actor.parameters())
        self.actor_optimiser.step()


def seconds_per_update(learner: SacShapedLearner, repeats: int) -> float:
    durations = []
    for _ in range(repeats + 3):
        began = time.perf_counter()
        learner.update()
        durations.append(time.perf_counter() - began)
    return float(np.median(durations[3:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}; precision {args.precision}")
    single = seconds_per_update(SacShapedLearner(1, args.precision), args.repeats)
    print(f"one seed: {single * 1e3:.2f} ms per update ({1 / single:.0f} agent-updates/s)")
    for seeds in (s for s in args.seeds if s > 1):
        batched = seconds_per_update(SacShapedLearner(seeds, args.precision), args.repeats)
        print(f"{seeds} seeds batched: {batched * 1e3:.2f} ms per update of all seeds ({seeds / batched:.0f} "
              f"agent-updates/s); {seeds} separate: {seeds * single * 1e3:.2f} ms; speed-up "
              f"{seeds * single / batched:.2f}x")


if __name__ == "__main__":
    main()

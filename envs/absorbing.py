"""DAC absorbing states (Kostrikov et al., 2018): every observation gets a trailing indicator coordinate.

Real states end in 0; the absorbing state is (0, ..., 0, 1) and its only action is 0. An episode that
ends by termination continues into the absorbing state through a self-loop whose value is learned, instead
of being cut with a terminal flag; time-limit cuts are not touched.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np


def absorbing_state(obs_size: int) -> np.ndarray:
    """(0, ..., 0, 1) of length obs_size (which includes the indicator coordinate)."""
    state = np.zeros(obs_size, dtype=np.float32)
    state[-1] = 1.0
    return state


def with_indicator(obs: np.ndarray) -> np.ndarray:
    """Append the indicator coordinate 0 to one observation or to a (N, obs) array of them."""
    return np.concatenate([obs, np.zeros((*obs.shape[:-1], 1), dtype=obs.dtype)], axis=-1)


class AbsorbingIndicator(gym.ObservationWrapper):
    """Appends the (always 0) absorbing indicator to the environment's observations."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        box = env.observation_space
        self.observation_space = gym.spaces.Box(np.append(box.low, 0.0), np.append(box.high, 1.0), dtype=np.float64)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return with_indicator(observation)

"""Builds environments from an env config: Gymnasium id + kwargs, actions rescaled to [-1, 1]."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from omegaconf import DictConfig, OmegaConf

from envs.absorbing import AbsorbingIndicator
from errors import UserError


def make_env(env_cfg: DictConfig, absorbing: bool, unit_actions: bool = True) -> gym.Env:
    """The task of `env_cfg`, with actions rescaled to [-1, 1] (unless `unit_actions` is false, as when
    recording datasets in native units) and, if `absorbing`, the absorbing indicator."""
    kwargs = OmegaConf.to_container(env_cfg.kwargs, resolve=True) if env_cfg.kwargs else {}
    try:
        env = gym.make(env_cfg.id, max_episode_steps=env_cfg.max_episode_steps, **kwargs)
    except gym.error.Error as error:
        raise UserError(f"env.id={env_cfg.id} cannot be made ({error}); use a registered Gymnasium id, such as "
                        f"Hopper-v5, or one of the suite's env configs (env=hopper)") from None
    except TypeError as error:
        raise UserError(f"env.kwargs={kwargs} do not fit env.id={env_cfg.id} ({error}); fix or remove them") from None
    if not isinstance(env.action_space, gym.spaces.Box) or not isinstance(env.observation_space, gym.spaces.Box):
        raise UserError(f"env.id={env_cfg.id} has discrete observations or actions; the suite needs continuous "
                        f"(Box) ones")
    if unit_actions:
        unit = np.ones(env.action_space.shape, dtype=np.float32)
        env = gym.wrappers.RescaleAction(env, -unit, unit)
    return AbsorbingIndicator(env) if absorbing else env


def to_unit_actions(actions: np.ndarray, action_space: gym.spaces.Box) -> np.ndarray:
    """Map actions from the env's native bounds (as datasets store them) to the policy's [-1, 1]."""
    low, high = action_space.low, action_space.high
    return (2.0 * (actions - low) / (high - low) - 1.0).astype(np.float32)


def from_unit_actions(actions: np.ndarray, action_space: gym.spaces.Box) -> np.ndarray:
    """Map policy actions in [-1, 1] back to the env's native bounds."""
    low, high = action_space.low, action_space.high
    return (low + (actions + 1.0) * 0.5 * (high - low)).astype(action_space.dtype)

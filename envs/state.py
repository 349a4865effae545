"""Saving and restoring a training environment mid-episode, so that a resumed run steps on exactly as an
uninterrupted one would: for MuJoCo tasks the whole simulator data (state, warm start and the derived quantities
some rewards read, such as body positions), the task's random generator and the time-limit counter."""
from __future__ import annotations

import copy

import gymnasium as gym
import mujoco


def environment_state(env: gym.Env) -> dict | None:
    """What the next steps of `env` depend on; None for a task whose state this cannot capture (not MuJoCo)."""
    task = env.unwrapped
    if not isinstance(getattr(task, "data", None), mujoco.MjData):
        return None
    return {"mujoco_data": copy.copy(task.data), "random": copy.deepcopy(task.np_random.bit_generator.state),
            "elapsed_steps": _time_limit(env)._elapsed_steps if _time_limit(env) else None}


def restore_environment_state(env: gym.Env, state: dict) -> None:
    """Put `env` (already reset once, as every env must be before stepping) in the saved state. The simulator
    data is copied into the env's own MjData, which the task keeps references to."""
    task = env.unwrapped
    mujoco.mj_copyData(task.data, task.model, state["mujoco_data"])
    task.np_random.bit_generator.state = state["random"]
    if state["elapsed_steps"] is not None:
        _time_limit(env)._elapsed_steps = state["elapsed_steps"]


def _time_limit(env: gym.Env) -> gym.wrappers.TimeLimit | None:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = env.env
    return None

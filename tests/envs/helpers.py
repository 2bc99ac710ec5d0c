"""Tiny continuous-action and dict-observation tasks (not registered) for the tests.

Built with `dataclasses.replace` on a registered task, so everything but the
environment, the observation and the action spec is a valid registered setting.
"""

from __future__ import annotations

import dataclasses

import gymnasium
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from rl_unplugged import registry
from rl_unplugged.specs import ActionSpec, ArraySpec, TaskSpec

# dm_control's cartpole observes position (3,) then velocity (2,); registering the
# reverse order shows that flattening follows the task, not the backend.
CARTPOLE_KEYS = (("velocity", (2,)), ("position", (3,)))
DICT_PENDULUM_ID = "rlu-test/DictPendulum-v0"


def continuous_task(domain: str, name: str, env_id: str, obs_dim: int, minimum, maximum,
                    max_episode_steps: int, observation_keys=()) -> TaskSpec:
    return dataclasses.replace(
        registry.get_task("classic/cartpole"), domain=domain, name=name, env_id=env_id,
        observation=ArraySpec(shape=(obs_dim,), dtype="float32"), num_actions=None,
        action=ActionSpec.continuous(minimum, maximum), observation_keys=observation_keys,
        max_episode_steps=max_episode_steps)


def pendulum_task(max_episode_steps: int = 200, **changes) -> TaskSpec:
    """gymnasium's Pendulum-v1: obs (3,), one torque in [-2, 2], never terminates."""
    task = continuous_task("classic", "pendulum", "Pendulum-v1", 3, [-2.0], [2.0],
                           max_episode_steps)
    return dataclasses.replace(task, **changes)


def cartpole_swingup_task(max_episode_steps: int = 1000, keys=CARTPOLE_KEYS) -> TaskSpec:
    """dm_control's cartpole/swingup: dict observations (5 values), one force in [-1, 1]."""
    return continuous_task("control", "cartpole_swingup", "cartpole/swingup", 5, [-1.0],
                           [1.0], max_episode_steps, observation_keys=keys)


class DictPendulum(PendulumEnv):
    """Pendulum-v1 observing a dict {'velocity': (1,), 'angle': (2,)} (cos, sin)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        box = gymnasium.spaces.Box
        self.observation_space = gymnasium.spaces.Dict(
            {"velocity": box(-8.0, 8.0, (1,), np.float32),
             "angle": box(-1.0, 1.0, (2,), np.float32)})

    def _get_obs(self):
        obs = super()._get_obs()
        return {"velocity": obs[2:], "angle": obs[:2]}


def dict_pendulum_task() -> TaskSpec:
    if DICT_PENDULUM_ID not in gymnasium.registry:
        gymnasium.register(DICT_PENDULUM_ID, entry_point=DictPendulum)
    return continuous_task("classic", "dict_pendulum", DICT_PENDULUM_ID, 3, [-2.0], [2.0],
                           200, observation_keys=(("angle", (2,)), ("velocity", (1,))))

"""A tiny continuous task (Pendulum-v1 with reward bounds) and random transitions for it."""

from __future__ import annotations

import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.specs import RewardBounds, TaskSpec
from tests.envs.helpers import pendulum_task


def continuous_task(max_episode_steps: int = 20) -> TaskSpec:
    # Pendulum's reward per step is in [-(pi^2 + 0.1 * 8^2 + 0.001 * 2^2), 0].
    return pendulum_task(max_episode_steps=max_episode_steps,
                         rewards=RewardBounds(minimum=-16.2736044, maximum=0.0))


def continuous_transitions(task: TaskSpec, num: int = 64, seed: int = 0) -> Transitions:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(num + 1, *task.observation.shape)).astype(np.float32)
    low, high = np.asarray(task.action.minimum), np.asarray(task.action.maximum)
    action = rng.uniform(low, high, size=(num, *task.action.shape)).astype(np.float32)
    return Transitions(
        observation=obs[:-1], action=action, reward=rng.normal(size=num).astype(np.float32),
        discount=(rng.random(num) > 0.1).astype(np.float32), next_observation=obs[1:],
        episode_id=(np.arange(num) // 16).astype(np.int64),
        step=(np.arange(num) % 16).astype(np.int32))

"""Tiny deterministic transitions for learner and loop tests."""

import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.specs import TaskSpec


def random_transitions(task: TaskSpec, num: int = 256, seed: int = 0) -> Transitions:
    rng = np.random.default_rng(seed)
    shape = task.observation.shape
    dtype = task.observation.dtype
    if dtype == "uint8":
        obs = rng.integers(2, size=(num + 1, *shape)).astype(np.uint8)
    else:
        obs = rng.normal(size=(num + 1, *shape)).astype(dtype)
    return Transitions(
        observation=obs[:-1], action=rng.integers(task.num_actions, size=num).astype(np.int32),
        reward=rng.normal(size=num).astype(np.float32),
        discount=(rng.random(num) > 0.1).astype(np.float32), next_observation=obs[1:],
        episode_id=(np.arange(num) // 16).astype(np.int64),
        step=(np.arange(num) % 16).astype(np.int32))

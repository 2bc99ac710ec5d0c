"""A vector of independent `Environment`s of one task, stepped in a Python loop.

The backends are Python environments, so there is nothing to gain from subprocesses
on the small observations of this suite; what matters is calling the (batched)
policy once per vector step. `VectorEnv` keeps one observation buffer of shape
(num_envs, *obs_shape) that the policy reads directly (dict observations are
flattened by the environments, so the buffer is (num_envs, D) for them).
"""

from __future__ import annotations

import numpy as np

from rl_unplugged import envs
from rl_unplugged.envs import Environment, TimeStep
from rl_unplugged.specs import TaskSpec


class VectorEnv:
    """`num_envs` environments of one task with a shared observation buffer.

    Attributes:
      observations: (num_envs, *obs_shape) array in the task's observation dtype; row
        i holds environment i's latest observation (after `reset`/`step` of i).
    """

    def __init__(self, task: TaskSpec | str, num_envs: int):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.envs: list[Environment] = [envs.make(task) for _ in range(num_envs)]
        self.task = self.envs[0].task
        self.observations = np.zeros((num_envs, *self.task.observation.shape),
                                     self.task.observation.dtype)

    @property
    def num_envs(self) -> int:
        return len(self.envs)

    def reset(self, index: int, seed: int) -> None:
        self.observations[index] = self.envs[index].reset(seed)

    def step(self, index: int, action: int | np.ndarray) -> TimeStep:
        """Steps environment `index` with an int (discrete) or float32 (A,) action."""
        ts = self.envs[index].step(action)
        self.observations[index] = ts.observation
        return ts

    def close(self) -> None:
        for env in self.envs:
            env.close()

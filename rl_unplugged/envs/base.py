"""One environment interface for every backend (bsuite, MinAtar, gymnasium).

Termination and time-limit truncation are kept distinct: backends report true
terminations only, and `TimeLimit` alone truncates, at the task's
`max_episode_steps`. Observations are returned in the dtype and shape of the
task's `observation` spec, exactly as datasets store them.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import numpy as np

from rl_unplugged.specs import TaskSpec


class TimeStep(NamedTuple):
    """Result of one `step`: the next observation and how the episode stands."""

    observation: np.ndarray
    reward: float
    terminated: bool  # A true terminal state: bootstrap with 0.
    truncated: bool  # Time limit reached: bootstrap normally.

    @property
    def last(self) -> bool:
        return self.terminated or self.truncated


class Environment(abc.ABC):
    """A single discrete-action environment of a registered task."""

    def __init__(self, task: TaskSpec):
        self.task = task

    @abc.abstractmethod
    def reset(self, seed: int) -> np.ndarray:
        """Starts an episode whose randomness is a pure function of `seed`."""

    @abc.abstractmethod
    def step(self, action: int) -> TimeStep:
        """Executes `action` (an index in [0, num_actions))."""

    def close(self) -> None:
        pass


class TimeLimit(Environment):
    """Truncates episodes at `task.max_episode_steps` (is_terminal stays False)."""

    def __init__(self, env: Environment):
        super().__init__(env.task)
        self.env = env
        self._steps = 0
        self._needs_reset = True

    def reset(self, seed: int) -> np.ndarray:
        self._steps = 0
        self._needs_reset = False
        return self.env.reset(seed)

    def step(self, action: int) -> TimeStep:
        if self._needs_reset:
            raise RuntimeError("step() called before reset() or after the episode ended")
        if not 0 <= action < self.task.num_actions:
            raise ValueError(f"action {action} outside [0, {self.task.num_actions}) "
                             f"for {self.task.id}")
        ts = self.env.step(int(action))
        self._steps += 1
        if not ts.terminated and self._steps >= self.task.max_episode_steps:
            ts = ts._replace(truncated=True)
        self._needs_reset = ts.last
        return ts

    def close(self) -> None:
        self.env.close()

"""One environment interface for every backend (bsuite, MinAtar, gymnasium, dm_control).

Termination and time-limit truncation are kept distinct: backends report true
terminations only, and `TimeLimit` alone truncates, at the task's
`max_episode_steps`. Observations are returned in the dtype and shape of the
task's `observation` spec, exactly as datasets store them: dict observations
(dm_control) are flattened in the task's registered `observation_keys` order.

Actions follow the task's `ActionSpec`: an int in [0, num_actions) for discrete
tasks, a float32 vector of shape (A,) inside [minimum, maximum] for continuous ones.
`TimeLimit` refuses anything else (ValueError) rather than clipping, so whatever a
caller logs is exactly what the environment executed; callers that want clipping
(the evaluator) clip with `action_bounds` first.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import numpy as np

from rl_unplugged.specs import ActionSpec, TaskSpec, flatten_observation


def action_bounds(spec: ActionSpec) -> tuple[np.ndarray, np.ndarray]:
    """A continuous action spec's bounds as float32 arrays (A,), the dtype of actions.

    Comparing and clipping in float32 matters: a float64 bound such as 0.1 is not a
    float32 number, and float32(0.1) > 0.1 would otherwise count as out of bounds.
    """
    if spec.is_discrete:
        raise ValueError("a discrete action spec has no bounds")
    return np.asarray(spec.minimum, np.float32), np.asarray(spec.maximum, np.float32)


def as_observation(task: TaskSpec, observation) -> np.ndarray:
    """A backend's observation as the task stores it (dicts flattened in registered order)."""
    if task.observation_keys:
        observation = flatten_observation(observation, task.observation_keys)
    return np.asarray(observation, task.observation.dtype).reshape(task.observation.shape)


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
    """A single environment of a task (discrete or continuous actions)."""

    def __init__(self, task: TaskSpec):
        self.task = task

    @abc.abstractmethod
    def reset(self, seed: int) -> np.ndarray:
        """Starts an episode whose randomness is a pure function of `seed`."""

    @abc.abstractmethod
    def step(self, action: int | np.ndarray) -> TimeStep:
        """Executes `action`.

        Args:
          action: an index in [0, num_actions) (discrete tasks) or a float32 vector (A,)
            inside the spec's bounds (continuous tasks).
        """

    def close(self) -> None:
        pass


class TimeLimit(Environment):
    """Truncates episodes at `task.max_episode_steps` (is_terminal stays False)."""

    def __init__(self, env: Environment):
        super().__init__(env.task)
        self.env = env
        self._steps = 0
        self._needs_reset = True
        self._discrete = self.task.is_discrete
        if not self._discrete:
            self._low, self._high = action_bounds(self.task.action)

    def reset(self, seed: int) -> np.ndarray:
        self._steps = 0
        self._needs_reset = False
        return self.env.reset(seed)

    def step(self, action: int | np.ndarray) -> TimeStep:
        """Steps the backend after checking `action` against the task's action spec.

        Raises:
          RuntimeError: before `reset` or after the episode ended.
          ValueError: a discrete action outside [0, num_actions); a continuous action of
            the wrong shape, non-finite, or outside [minimum, maximum] (not clipped).
        """
        if self._needs_reset:
            raise RuntimeError("step() called before reset() or after the episode ended")
        if self._discrete:
            if not 0 <= action < self.task.num_actions:
                raise ValueError(f"action {action} outside [0, {self.task.num_actions}) "
                                 f"for {self.task.id}")
            action = int(action)
        else:
            action = self._continuous(action)
        ts = self.env.step(action)
        self._steps += 1
        if not ts.terminated and self._steps >= self.task.max_episode_steps:
            ts = ts._replace(truncated=True)
        self._needs_reset = ts.last
        return ts

    def _continuous(self, action) -> np.ndarray:
        # A copy: the backend may keep it, and the caller may reuse its buffer.
        action = np.array(action, np.float32)
        if action.shape != self.task.action.shape:
            raise ValueError(f"action of shape {action.shape}; {self.task.id} takes "
                             f"{self.task.action.shape}")
        if not np.isfinite(action).all():
            raise ValueError(f"non-finite action {action.tolist()} for {self.task.id}")
        if (action < self._low).any() or (action > self._high).any():
            raise ValueError(f"action {action.tolist()} outside the bounds "
                             f"[{self._low.tolist()}, {self._high.tolist()}] of {self.task.id}")
        return action

    def close(self) -> None:
        self.env.close()

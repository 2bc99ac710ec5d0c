"""Adapters from bsuite, MinAtar and gymnasium to `Environment`.

Each adapter reports only true terminations; time limits are applied by
`TimeLimit`, so backends' own limits are lifted (bsuite's cartpole and
mountain_car end their episodes with discount 0 at a time limit, which would
otherwise be logged as a termination).
"""

from __future__ import annotations

import numpy as np

from rl_unplugged.envs.base import Environment, TimeStep
from rl_unplugged.specs import TaskSpec

_NO_LIMIT = 10**12


class BsuiteEnv(Environment):
    """bsuite's catch, cartpole and mountain_car (dm_env), default settings."""

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        self._dtype = np.dtype(task.observation.dtype)
        self._env = None

    def _make(self, seed: int):
        from bsuite.environments import cartpole, catch, mountain_car

        if self.task.env_id == "catch":
            return catch.Catch(seed=seed)
        if self.task.env_id == "cartpole":
            return cartpole.Cartpole(seed=seed, max_time=float(_NO_LIMIT))
        if self.task.env_id == "mountain_car":
            return mountain_car.MountainCar(seed=seed, max_steps=_NO_LIMIT)
        raise KeyError(f"unknown bsuite environment {self.task.env_id!r}")

    def reset(self, seed: int) -> np.ndarray:
        # bsuite environments seed only at construction; a fresh one per episode keeps
        # each episode a pure function of its seed.
        self._env = self._make(seed)
        return np.asarray(self._env.reset().observation, self._dtype)

    def step(self, action: int) -> TimeStep:
        ts = self._env.step(action)
        terminated = bool(ts.last() and ts.discount == 0.0)
        return TimeStep(np.asarray(ts.observation, self._dtype), float(ts.reward or 0.0),
                        terminated, bool(ts.last() and not terminated))


class MinAtarEnv(Environment):
    """MinAtar (Young & Tian 2019) over its minimal action set, with sticky actions."""

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        from minatar import Environment as MinAtar

        self._env = MinAtar(task.env_id, sticky_action_prob=task.sticky_action_prob)
        self._actions = list(self._env.minimal_action_set())
        if len(self._actions) != task.num_actions:
            raise ValueError(f"{task.id}: MinAtar has {len(self._actions)} actions, "
                             f"spec says {task.num_actions}")

    def reset(self, seed: int) -> np.ndarray:
        self._env.seed(seed)
        self._env.reset()
        return self._env.state().astype(np.uint8)

    def step(self, action: int) -> TimeStep:
        reward, terminal = self._env.act(self._actions[action])
        return TimeStep(self._env.state().astype(np.uint8), float(reward), bool(terminal), False)


class GymnasiumEnv(Environment):
    """A gymnasium environment without its TimeLimit wrapper."""

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        import gymnasium

        self._env = gymnasium.make(task.env_id, disable_env_checker=True).unwrapped
        self._dtype = np.dtype(task.observation.dtype)

    def reset(self, seed: int) -> np.ndarray:
        obs, _ = self._env.reset(seed=seed)
        return np.asarray(obs, self._dtype)

    def step(self, action: int) -> TimeStep:
        obs, reward, terminated, _, _ = self._env.step(action)
        return TimeStep(np.asarray(obs, self._dtype), float(reward), bool(terminated), False)

    def close(self) -> None:
        self._env.close()

"""Adapters from bsuite, MinAtar, gymnasium and dm_control to `Environment`.

Each adapter reports only true terminations; time limits are applied by
`TimeLimit`, so backends' own limits are lifted (bsuite's cartpole and
mountain_car end their episodes with discount 0 at a time limit, which would
otherwise be logged as a termination; dm_control's suite ends every episode
after 1000 steps, which `TimeLimit` reproduces from `max_episode_steps`).
Actions reach the adapters already checked by `TimeLimit`: an int for discrete
tasks, a float32 vector (A,) inside the bounds for continuous ones.
"""

from __future__ import annotations

import os

import numpy as np

from rl_unplugged.envs.base import Environment, TimeStep, action_bounds, as_observation
from rl_unplugged.errors import IncompatibleError
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
        # MinAtar's wrapper keeps `last_action` across resets; with sticky actions the
        # episode's first step could repeat the previous episode's last action.
        self._env.last_action = 0
        self._env.reset()
        return self._env.state().astype(np.uint8)

    def step(self, action: int) -> TimeStep:
        reward, terminal = self._env.act(self._actions[action])
        return TimeStep(self._env.state().astype(np.uint8), float(reward), bool(terminal), False)


class GymnasiumEnv(Environment):
    """A gymnasium environment without its TimeLimit wrapper.

    Discrete (`Discrete(num_actions)`) or continuous (`Box` of shape (A,)) actions;
    Box actions are passed in the space's dtype. Dict observations are flattened in
    the task's registered `observation_keys` order. The spaces are checked against the
    task's spec at construction (IncompatibleError on a mismatch).
    """

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        import gymnasium

        self._env = gymnasium.make(task.env_id, disable_env_checker=True).unwrapped
        self._dtype = np.dtype(task.observation.dtype)
        self._flatten = bool(task.observation_keys)
        space = self._env.action_space
        if task.is_discrete:
            ok = isinstance(space, gymnasium.spaces.Discrete) and space.n == task.num_actions
            self._action_dtype = None
        else:
            low, high = action_bounds(task.action)
            ok = (isinstance(space, gymnasium.spaces.Box) and space.shape == task.action.shape
                  and np.array_equal(space.low.astype(np.float32), low)
                  and np.array_equal(space.high.astype(np.float32), high))
            self._action_dtype = getattr(space, "dtype", None)
        if not ok:
            raise IncompatibleError(f"{task.id}: gymnasium's {task.env_id} has action space "
                                    f"{space}, the task says {task.action.describe()}")

    def _observation(self, obs) -> np.ndarray:
        if self._flatten:
            return as_observation(self.task, obs)
        return np.asarray(obs, self._dtype)

    def reset(self, seed: int) -> np.ndarray:
        obs, _ = self._env.reset(seed=seed)
        return self._observation(obs)

    def step(self, action: int | np.ndarray) -> TimeStep:
        if self._action_dtype is not None:
            action = np.asarray(action, self._action_dtype)
        obs, reward, terminated, _, _ = self._env.step(action)
        return TimeStep(self._observation(obs), float(reward), bool(terminated), False)

    def close(self) -> None:
        self._env.close()


class DMControlEnv(Environment):
    """A dm_control suite task, `env_id` 'domain/task' (e.g. 'cartpole/swingup').

    Dict observations are flattened in the task's registered `observation_keys` order
    (float32); actions are bounded float vectors. The suite's own time limit is lifted
    (`TimeLimit` truncates at `max_episode_steps`; the suite's default is 1000 steps),
    so an episode ends early only on a true termination (discount 0). Rendering is off
    (`MUJOCO_GL=disable` unless the caller set MUJOCO_GL).
    """

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        os.environ.setdefault("MUJOCO_GL", "disable")  # Headless: no rendering backend.
        from dm_control import suite

        domain, _, name = task.env_id.partition("/")
        if (domain, name) not in suite.ALL_TASKS:
            raise IncompatibleError(f"{task.id}: unknown dm_control task {task.env_id!r}; "
                                    "env_id must be 'domain/task' of dm_control.suite")
        # One generator for the life of the environment, reseeded by `reset`: rebuilding
        # the environment per episode (as for bsuite) would cost ~50 ms of MJCF parsing.
        self._random = np.random.RandomState(0)
        self._env = suite.load(domain, name, task_kwargs={"random": self._random,
                                                          "time_limit": float("inf")})
        spec = self._env.action_spec()
        low, high = action_bounds(task.action) if not task.is_discrete else (None, None)
        if (low is None or spec.shape != task.action.shape
                or not np.array_equal(np.asarray(spec.minimum, np.float32), low)
                or not np.array_equal(np.asarray(spec.maximum, np.float32), high)):
            raise IncompatibleError(f"{task.id}: dm_control's {task.env_id} takes actions "
                                    f"{spec}, the task says {task.action.describe()}")
        observed = {k: tuple(v.shape) for k, v in self._env.observation_spec().items()}
        if observed != dict(task.observation_keys):
            raise IncompatibleError(f"{task.id}: dm_control's {task.env_id} observes "
                                    f"{observed}, the task registers "
                                    f"{dict(task.observation_keys)}")

    def reset(self, seed: int) -> np.ndarray:
        # Reseeding the task's generator in place makes the episode a pure function of
        # `seed`: it is the only randomness of dm_control's suite (initial states).
        self._random.seed(seed)
        return as_observation(self.task, self._env.reset().observation)

    def step(self, action: np.ndarray) -> TimeStep:
        ts = self._env.step(action)
        terminated = bool(ts.last() and ts.discount == 0.0)
        return TimeStep(as_observation(self.task, ts.observation), float(ts.reward or 0.0),
                        terminated, bool(ts.last() and not terminated))

    def close(self) -> None:
        self._env.close()

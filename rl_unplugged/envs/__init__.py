"""Environments of the registered tasks behind one interface (`Environment`).

Backends by domain: bsuite, MinAtar, gymnasium ('classic' and 'mujoco': discrete or
Box actions), dm_control ('control': dict observations, bounded actions) and ALE
('atari': `envs/atari.py`, RL Unplugged's settings).
"""

from __future__ import annotations

from rl_unplugged.envs.base import Environment, TimeLimit, TimeStep, action_bounds
from rl_unplugged.specs import TaskSpec

__all__ = ["Environment", "TimeLimit", "TimeStep", "action_bounds", "make"]


def make(task: TaskSpec | str) -> Environment:
    """Creates the environment of `task` (a spec or 'domain/name'), time limit included."""
    from rl_unplugged import registry
    from rl_unplugged.envs import atari, backends

    if isinstance(task, str):
        task = registry.get_task(task)
    backend = {"bsuite": backends.BsuiteEnv, "minatar": backends.MinAtarEnv,
               "classic": backends.GymnasiumEnv, "mujoco": backends.GymnasiumEnv,
               "control": backends.DMControlEnv, "atari": atari.AtariEnv}[task.domain]
    return TimeLimit(backend(task))

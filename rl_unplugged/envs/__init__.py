"""Environments of the registered tasks behind one interface (`Environment`)."""

from __future__ import annotations

from rl_unplugged.envs.base import Environment, TimeLimit, TimeStep
from rl_unplugged.specs import TaskSpec

__all__ = ["Environment", "TimeLimit", "TimeStep", "make"]


def make(task: TaskSpec | str) -> Environment:
    """Creates the environment of `task` (a spec or 'domain/name'), time limit included."""
    from rl_unplugged import registry
    from rl_unplugged.envs import backends

    if isinstance(task, str):
        task = registry.get_task(task)
    backend = {"bsuite": backends.BsuiteEnv, "minatar": backends.MinAtarEnv,
               "classic": backends.GymnasiumEnv}[task.domain]
    return TimeLimit(backend(task))

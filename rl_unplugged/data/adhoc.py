"""Tasks of imported datasets: the registered task when known, else one read off the data.

A dataset imported from another library (Minari, D4RL, a user's RLDS dataset) usually
has no task in the registry. `adhoc_task` then describes it from the data alone, under
the domain 'imported' and the name given (`imported/<name>`): observation shape and
dtype as stored, discrete actions (`num_values` = the largest action + 1, or the
number the source declares) or continuous ones (bounds declared by the source, else
[-1, 1] when the data fit in it, else the data's per-dimension range), the longest
episode as time limit, gamma 0.99 unless given. Such a task has no environment: it
can be trained on, not evaluated.

`task_to_json`/`task_from_json` record a task beside an imported store: a registered
task by its id only (so it follows the registry), an ad-hoc one in full.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

from rl_unplugged import registry
from rl_unplugged.errors import ConfigError, UnknownNameError
from rl_unplugged.specs import (
    ActionSpec,
    ArraySpec,
    BehaviourConfig,
    CompetenceTarget,
    RewardBounds,
    TaskSpec,
)

DOMAIN = "imported"
DEFAULT_GAMMA = 0.99


def task_name(name: str) -> str:
    """A source's name as an ad-hoc task name: [a-z0-9_] only."""
    out = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return out or "dataset"


def infer_action(actions: np.ndarray, *, num_values: int | None = None,
                 minimum=None, maximum=None) -> ActionSpec:
    """The action space of logged actions (see the module docstring).

    Args:
      actions: (N,) integer actions, or (N, A) float actions.
      num_values: the number of discrete actions, when the source declares it.
      minimum, maximum: declared bounds of continuous actions (length A).

    Raises:
      ConfigError: actions of another shape, or discrete actions below 0.
    """
    actions = np.asarray(actions)
    if actions.ndim == 1 or (actions.ndim == 2 and actions.shape[1] == 1
                             and actions.dtype.kind in "iub"):
        if actions.dtype.kind not in "iub":
            raise ConfigError(f"(N,) actions must be integers (discrete), got {actions.dtype}")
        flat = actions.reshape(-1)
        if flat.size and flat.min() < 0:
            raise ConfigError(f"discrete actions must be >= 0, found {flat.min()}")
        n = num_values if num_values is not None else int(flat.max(initial=0)) + 1
        return ActionSpec.discrete(max(int(n), 2))
    if actions.ndim != 2:
        raise ConfigError(f"actions need shape (N,) or (N, A), got {actions.shape}")
    if minimum is None or maximum is None:
        lo, hi = actions.min(axis=0), actions.max(axis=0)
        if lo.min(initial=0.0) >= -1.0 and hi.max(initial=0.0) <= 1.0:
            lo, hi = -np.ones(actions.shape[1]), np.ones(actions.shape[1])
        minimum, maximum = lo, hi
    return ActionSpec.continuous(np.broadcast_to(np.asarray(minimum, float), actions.shape[1:]),
                                 np.broadcast_to(np.asarray(maximum, float), actions.shape[1:]))


def adhoc_task(name: str, *, observation_shape: tuple[int, ...], observation_dtype: str,
               action: ActionSpec, max_episode_steps: int, gamma: float = DEFAULT_GAMMA,
               env_id: str = "", description: str = "",
               observation_keys: tuple[tuple[str, tuple[int, ...]], ...] = ()) -> TaskSpec:
    """A `TaskSpec` `imported/<task_name(name)>` for data without a registered task.

    Args:
      name: the dataset's name (sanitised into the task name).
      observation_shape, observation_dtype: one stored observation (flattened vector
        for dict observations, whose `observation_keys` are then given).
      action: the action space (`infer_action`).
      max_episode_steps: the time limit (the longest episode when unknown).
      gamma: discount of learners on this task.
      env_id: the environment's id where the data name one ('' when unknown).
    """
    image = len(observation_shape) == 3 and action.is_discrete
    return TaskSpec(
        domain=DOMAIN, name=task_name(name), env_id=env_id,
        observation=ArraySpec(shape=tuple(int(d) for d in observation_shape),
                              dtype=str(np.dtype(observation_dtype))),
        action=action, max_episode_steps=max(int(max_episode_steps), 1), gamma=float(gamma),
        network="cnn" if image else "mlp",
        behaviour=BehaviourConfig(num_steps=1), num_runs=1, observation_keys=observation_keys,
        description=description or f"imported dataset {name} (task read off the data)")


def task_to_json(task: TaskSpec) -> dict[str, Any]:
    """A task as JSON: `{"task_id": id}` for a registered task, else every field."""
    try:
        if registry.get_task(task.id) == task:
            return {"task_id": task.id}
    except UnknownNameError:
        pass
    return {"task": dataclasses.asdict(task)}


def task_from_json(value: dict[str, Any]) -> TaskSpec:
    """Inverse of `task_to_json`.

    Raises:
      UnknownNameError: a registered task id the registry no longer knows.
    """
    if "task_id" in value:
        return registry.get_task(value["task_id"])
    d = dict(value["task"])
    d["observation"] = ArraySpec(shape=tuple(d["observation"]["shape"]),
                                 dtype=d["observation"]["dtype"])
    a = d["action"]
    d["action"] = ActionSpec(kind=a["kind"], num_values=a["num_values"], shape=tuple(a["shape"]),
                             minimum=None if a["minimum"] is None else tuple(a["minimum"]),
                             maximum=None if a["maximum"] is None else tuple(a["maximum"]))
    d["behaviour"] = BehaviourConfig(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in d["behaviour"].items()})
    d["rewards"] = None if d.get("rewards") is None else RewardBounds(**d["rewards"])
    d["competence"] = (None if d.get("competence") is None
                       else CompetenceTarget(**d["competence"]))
    d["observation_keys"] = tuple((k, tuple(s)) for k, s in d.get("observation_keys", ()))
    return TaskSpec(**d)

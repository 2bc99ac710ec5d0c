"""A learner's input transitions: checked against the task and agent, fingerprinted, on device."""

from __future__ import annotations

import hashlib
from typing import Any

import jax.numpy as jnp
import numpy as np

from rl_unplugged.agents import AgentSpec, Batch
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError, CorruptDataError, IncompatibleError
from rl_unplugged.specs import TaskSpec


def _describe(action: np.ndarray) -> str:
    kind = ("discrete" if np.issubdtype(action.dtype, np.integer) else
            "continuous" if np.issubdtype(action.dtype, np.floating) else "non-numeric")
    return f"{kind} actions (shape {action.shape}, dtype {action.dtype})"


def check_action_kind(agent: AgentSpec, task: TaskSpec, dataset: str | None = None) -> None:
    """Raises IncompatibleError (naming both kinds, and `dataset` if given) if `agent`
    learns another action kind than `task` has."""
    if agent.action_kind != task.action.kind:
        of = task.id if dataset is None else f"{dataset} (task {task.id})"
        raise IncompatibleError(f"{agent.name} learns {agent.action_kind} actions but "
                                f"{of} has {task.action.describe()} actions")


def check_transitions(data: Transitions, task: TaskSpec, agent: AgentSpec | None = None
                      ) -> None:
    """Checks that `data` fits `task` (and `agent`, if given).

    Discrete tasks need integer actions of shape (N,) in [0, num_values); continuous
    tasks float actions of shape (N, A) within the task's bounds. Observations must
    have the task's shape. Every float column (observations, next observations,
    continuous actions, rewards, discounts) must be finite: a NaN would train silently
    (it slips through a bounds check, since NaN compares false).

    Raises:
      ConfigError: the dataset is empty.
      IncompatibleError: the agent learns another action kind than the task has, or
        the data's actions or observations do not fit the task (names both sides).
      CorruptDataError: a column holds NaN or infinity (names it and the first row).
    """
    if data.size == 0:
        raise ConfigError("the dataset holds no transitions")
    check_finite(data)
    if agent is not None:
        check_action_kind(agent, task)
    spec = task.action
    who = agent.name if agent is not None else task.id
    action = np.asarray(data.action)
    if spec.is_discrete:
        if action.ndim != 1 or not np.issubdtype(action.dtype, np.integer):
            raise IncompatibleError(f"{who} needs discrete actions (integers, shape (N,)); "
                                    f"the dataset has {_describe(action)}")
        lo, hi = int(action.min()), int(action.max())
        if lo < 0 or hi >= spec.num_values:
            raise IncompatibleError(f"actions span [{lo}, {hi}] but {task.id} has "
                                    f"{spec.num_values}")
    else:
        if action.shape[1:] != spec.shape or not np.issubdtype(action.dtype, np.floating):
            raise IncompatibleError(f"{who} needs continuous actions (floats, shape "
                                    f"(N, {spec.shape[0]})); the dataset has "
                                    f"{_describe(action)}")
        low, high = np.asarray(spec.minimum), np.asarray(spec.maximum)
        outside = np.nonzero(((action < low) | (action > high)).any(axis=0))[0]
        if outside.size:
            d = int(outside[0])
            raise IncompatibleError(
                f"action dimension {d} spans [{action[:, d].min()}, {action[:, d].max()}], "
                f"outside {task.id}'s bounds [{low[d]}, {high[d]}]")
    shape = tuple(data.observation.shape[1:])
    if shape != task.observation.shape or data.next_observation.shape != data.observation.shape:
        raise IncompatibleError(f"observations have shape {shape}, {task.id} expects "
                                f"{task.observation.shape}")


def check_finite(data: Transitions) -> None:
    """Raises CorruptDataError naming the first float column with a NaN or inf, and its row."""
    for name in ("observation", "next_observation", "action", "reward", "discount"):
        column = np.asarray(getattr(data, name))
        if not np.issubdtype(column.dtype, np.floating):
            continue  # Integer columns (discrete actions, uint8 frames) are always finite.
        bad = ~np.isfinite(column.reshape(len(column), -1)).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise CorruptDataError(f"{name} is not finite (NaN or inf) in {rows.size} of "
                                   f"{len(column)} transitions, first at row {int(rows[0])}")


def fingerprint(data: Transitions) -> dict[str, Any]:
    """{'num_transitions', 'sha256'}: identifies the data a run trained on (config.json)."""
    h = hashlib.sha256()
    for column in (data.observation, data.action, data.reward, data.discount):
        h.update(np.ascontiguousarray(column).tobytes())
    return {"num_transitions": data.size, "sha256": h.hexdigest()[:16]}


def to_batch(data: Transitions, task: TaskSpec) -> Batch:
    """The whole dataset as one device-resident `Batch` (actions in the task's dtype)."""
    return Batch(*(jnp.asarray(np.asarray(x)) for x in (
        data.observation, data.action.astype(task.action.dtype),
        data.reward.astype(np.float32), data.discount.astype(np.float32),
        data.next_observation)))

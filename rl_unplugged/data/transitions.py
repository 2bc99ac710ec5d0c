"""Transitions: the flat (s, a, r, d, s') arrays learners train on.

`from_steps` is the single conversion from RLDS step columns to transitions; both
the TF-free loader and the tfds loader call it, so they agree by construction
(and a test checks they agree on real data).

Dtypes: actions are int32 (N,) for discrete tasks and float32 (N, A) for continuous
ones (the task's `ActionSpec.dtype`); rewards and discounts float32. Dict
observations are stored flattened to one float32 vector in the task's registered
key order (`TaskSpec.observation_keys`, `specs.flatten_observation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from rl_unplugged.data import fields as F
from rl_unplugged.specs import ActionSpec, flatten_observation


class Transitions(NamedTuple):
    """N transitions; see `rl_unplugged.data.episode` for the alignment.

    observation: (N, *obs_shape); action: (N,) int32 (discrete) or (N, A) float32
    (continuous); reward: (N,) float32; discount: (N,) float32, 0 where
    next_observation is terminal (gamma excluded); next_observation: (N, *obs_shape);
    episode_id: (N,) int64; step: (N,) int32, the index of the transition within its
    episode; truncated: (N,) bool, set on the last transition of an episode that
    ended by the time limit (None when the producer did not record it).
    """

    observation: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    discount: np.ndarray
    next_observation: np.ndarray
    episode_id: np.ndarray
    step: np.ndarray
    truncated: np.ndarray | None = None

    # Not __len__: a NamedTuple's length is its field count (_make/_replace rely on it).
    @property
    def size(self) -> int:
        """Number of transitions."""
        return len(self.reward)

    def subset(self, index: np.ndarray) -> Transitions:
        return Transitions(*(None if x is None else x[index] for x in self))


def _observations(value, observation_keys) -> np.ndarray:
    if isinstance(value, Mapping):
        if not observation_keys:
            raise ValueError("dict observations need the task's observation_keys")
        return flatten_observation(value, observation_keys)
    return value


def from_steps(steps: Mapping[str, np.ndarray], *, action: ActionSpec | None = None,
               observation_keys: tuple[tuple[str, tuple[int, ...]], ...] = ()
               ) -> Transitions:
    """Converts concatenated RLDS step columns (whole episodes, in order).

    Args:
      steps: arrays with a leading step axis: observation (an array, or a dict of
        arrays flattened in `observation_keys` order), action, reward, discount,
        is_first, is_last, optionally is_terminal (gives `truncated`) and episode_id
        (when absent, ids are counted from is_first).
      action: the task's action space; fixes the action dtype (int32 or float32) and
        shape. Without it, (S,) actions become int32 and (S, A) actions float32.
      observation_keys: the task's registered order of dict observations.

    Raises:
      ValueError: if the columns do not hold whole episodes, or actions do not have
        the action space's shape.
    """
    is_first = np.asarray(steps[F.IS_FIRST], bool)
    is_last = np.asarray(steps[F.IS_LAST], bool)
    n = len(is_last)
    if n and (not is_first[0] or not is_last[-1]):
        raise ValueError("steps must hold whole episodes (first step is_first, last is_last)")
    if np.any(is_first[1:] != is_last[:-1]):
        raise ValueError("is_first must follow every is_last and nothing else")
    idx = np.flatnonzero(~is_last)
    episode_id = (np.asarray(steps[F.EPISODE_ID], np.int64) if F.EPISODE_ID in steps
                  else np.cumsum(is_first) - 1)
    starts = np.flatnonzero(is_first)
    step_in_episode = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    obs = _observations(steps[F.OBSERVATION], observation_keys)
    actions = np.asarray(steps[F.ACTION])
    if action is None:
        dtype = np.int32 if actions.ndim == 1 else np.float32
    else:
        dtype = np.dtype(action.dtype)
        if actions.shape[1:] != action.shape:
            raise ValueError(f"actions have shape {actions.shape[1:]} per step, the action "
                             f"space {action.describe()} needs {action.shape}")
    truncated = None
    if F.IS_TERMINAL in steps:
        # Episode ends (is_last) that are not terminations: the time limit cut them.
        end = is_last & ~np.asarray(steps[F.IS_TERMINAL], bool)
        truncated = end[idx + 1]
    return Transitions(
        observation=obs[idx],
        action=actions[idx].astype(dtype),
        reward=np.asarray(steps[F.REWARD])[idx].astype(np.float32),
        discount=np.asarray(steps[F.DISCOUNT])[idx].astype(np.float32),
        next_observation=obs[idx + 1],
        episode_id=episode_id[idx],
        step=step_in_episode[idx].astype(np.int32),
        truncated=truncated,
    )


def concatenate(parts: list[Transitions]) -> Transitions:
    if not parts:
        raise ValueError("nothing to concatenate")
    return Transitions(*(None if any(c is None for c in cols) else np.concatenate(cols)
                         for cols in zip(*parts, strict=True)))

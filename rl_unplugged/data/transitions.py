"""Transitions: the flat (s, a, r, d, s') arrays learners train on.

`from_steps` is the single conversion from RLDS step columns to transitions; both
the TF-free loader and the tfds loader call it, so they agree by construction
(and a test checks they agree on real data).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rl_unplugged.data import fields as F


class Transitions(NamedTuple):
    """N transitions; see `rl_unplugged.data.episode` for the alignment.

    observation: (N, *obs_shape); action: (N,) int32; reward: (N,) float32;
    discount: (N,) float32, 0 where next_observation is terminal (gamma excluded);
    next_observation: (N, *obs_shape); episode_id: (N,) int64; step: (N,) int32,
    the index of the transition within its episode.
    """

    observation: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    discount: np.ndarray
    next_observation: np.ndarray
    episode_id: np.ndarray
    step: np.ndarray

    # Not __len__: a NamedTuple's length is its field count (_make/_replace rely on it).
    @property
    def size(self) -> int:
        """Number of transitions."""
        return len(self.reward)

    def subset(self, index: np.ndarray) -> Transitions:
        return Transitions(*(x[index] for x in self))


def from_steps(steps: dict[str, np.ndarray]) -> Transitions:
    """Converts concatenated RLDS step columns (whole episodes, in order).

    Args:
      steps: arrays with a leading step axis: observation, action, reward, discount,
        is_first, is_last and episode_id (episode_id may be absent: then ids are
        counted from is_first).

    Raises:
      ValueError: if the columns do not hold whole episodes.
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
    obs = steps[F.OBSERVATION]
    return Transitions(
        observation=obs[idx],
        action=np.asarray(steps[F.ACTION])[idx].astype(np.int32),
        reward=np.asarray(steps[F.REWARD])[idx].astype(np.float32),
        discount=np.asarray(steps[F.DISCOUNT])[idx].astype(np.float32),
        next_observation=obs[idx + 1],
        episode_id=episode_id[idx],
        step=step_in_episode[idx].astype(np.int32),
    )


def concatenate(parts: list[Transitions]) -> Transitions:
    if not parts:
        raise ValueError("nothing to concatenate")
    return Transitions(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))

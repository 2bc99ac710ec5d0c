"""In-memory episodes in RLDS step layout, and the suite's reward/discount alignment.

An episode with T environment transitions has T + 1 steps. Step k < T holds
observation o_k, the action a_k executed at o_k, the reward r_k received after it,
and discount d_k = 0 if o_{k+1} is a true terminal state, else 1. The last step
holds the final observation o_T with is_last=True, is_terminal=True only if the
episode ended by termination (not by a time limit), and zero action, reward and
discount (padding, never used for learning). Transitions are (o_k, a_k, r_k, d_k,
o_{k+1}) for k < T: a time-limit truncation keeps d = 1 and bootstraps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from rl_unplugged.data import fields as F


@dataclasses.dataclass(frozen=True)
class Episode:
    """One episode's steps (arrays of length T + 1) and its metadata."""

    steps: dict[str, np.ndarray]
    metadata: dict[str, float | int]

    @property
    def num_transitions(self) -> int:
        return len(self.steps[F.REWARD]) - 1

    @classmethod
    def from_rollout(
        cls,
        *,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: bool,
        extras: dict[str, np.ndarray] | None = None,
        metadata: dict[str, float | int],
    ) -> Episode:
        """Aligns one rollout into RLDS steps.

        Args:
          observations: (T + 1, *obs_shape) o_0..o_T, or a dict of such arrays (dict
            observations; the store flattens them in the task's registered order).
          actions: (T,) executed discrete actions a_0..a_{T-1} (stored as int64), or
            (T, A) continuous action vectors (stored as float32).
          rewards: (T,) rewards r_0..r_{T-1}.
          terminated: whether o_T is a true terminal state.
          extras: per-action arrays of shape (T,) (padded with 0 on the last step).
          metadata: episode metadata; `episode_id` required, return and length added.

        Raises:
          ValueError: on inconsistent lengths or an empty episode.
        """
        num = len(actions)
        num_obs = (len(next(iter(observations.values()))) if isinstance(observations, Mapping)
                   else len(observations))
        if num < 1 or len(rewards) != num or num_obs != num + 1:
            raise ValueError(f"rollout lengths disagree: {num_obs} observations, "
                             f"{num} actions, {len(rewards)} rewards (need T+1, T, T, T>=1)")
        if F.EPISODE_ID not in metadata:
            raise ValueError("episode metadata needs an episode_id")

        def pad(x, dtype):
            x = np.asarray(x)
            out = np.zeros((num + 1, *x.shape[1:]), dtype)
            out[:num] = x
            return out

        actions = np.asarray(actions)
        # (T,) is discrete whatever its dtype (the bytes of discrete logs never change).
        continuous = actions.ndim == 2
        if actions.ndim not in (1, 2):
            raise ValueError(f"actions need shape (T,) or (T, A), got {actions.shape}")

        discount = pad(np.ones(num), np.float32)
        if terminated:
            discount[num - 1] = 0.0
        flags = np.zeros(num + 1, bool)
        steps = {
            F.OBSERVATION: ({k: np.asarray(v) for k, v in observations.items()}
                            if isinstance(observations, Mapping) else np.asarray(observations)),
            F.ACTION: pad(actions, np.float32 if continuous else np.int64),
            F.REWARD: pad(rewards, np.float32),
            F.DISCOUNT: discount,
            F.IS_FIRST: flags.copy(),
            F.IS_LAST: flags.copy(),
            F.IS_TERMINAL: flags.copy(),
        }
        steps[F.IS_FIRST][0] = True
        steps[F.IS_LAST][num] = True
        steps[F.IS_TERMINAL][num] = bool(terminated)
        for key, value in (extras or {}).items():
            value = np.asarray(value)
            if len(value) != num:
                raise ValueError(f"extra {key!r} has length {len(value)}, expected {num}")
            steps[key] = pad(value, value.dtype)
        meta = dict(metadata)
        # Returns summed in float64 from the float32 rewards actually stored.
        meta[F.EPISODE_RETURN] = float(steps[F.REWARD].astype(np.float64).sum())
        meta[F.EPISODE_LENGTH] = num
        return cls(steps=steps, metadata=meta)

"""Splitting a dataset by episode into the parts criteria fit on and score on.

Transitions of one episode never straddle the split (they are correlated: a split by
transition would leak). Episodes are identified by `Transitions.episode_id` (the store's
episode index, `Store.episodes()`, gives the same grouping).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError

MIN_VALID_EPISODES = 2
MIN_TRAIN_EPISODES = 2


@dataclasses.dataclass(frozen=True, kw_only=True)
class Split:
    """A dataset split by episode, with the problem's discount and action count.

    Attributes:
      train: transitions criteria fit their models on (SBV's regression, FQE, the
        behaviour model).
      valid: held-out transitions criteria score on (TD error, SBV, WIS, DR).
      gamma: the discount of the values being selected for.
      num_actions: the task's number of discrete actions.
    """

    train: Transitions
    valid: Transitions
    gamma: float
    num_actions: int

    def __post_init__(self):
        if not 0.0 <= self.gamma < 1.0:
            raise ConfigError(f"gamma must be in [0, 1), got {self.gamma}")

    @property
    def everything(self) -> Transitions:
        """Both parts, train first."""
        return Transitions(*(None if a is None or b is None else np.concatenate([a, b])
                             for a, b in zip(self.train, self.valid, strict=True)))


def time_major_transitions(observation, action, reward, next_observation
                           ) -> Transitions:
    """Transitions of equal-length episodes logged side by side, one list entry per
    step: each argument is T arrays of shape (E, ...) (or an array (T, E, ...)).
    Returned episode-major (episode e's T transitions contiguous, ids 0..E-1); no
    termination (discount 1), every episode truncated at its last step."""
    obs, act, rew, nxt = (np.swapaxes(np.asarray(v), 0, 1)
                          for v in (observation, action, reward, next_observation))
    n_ep, length = act.shape
    n = n_ep * length
    return Transitions(
        observation=obs.reshape(n, -1).astype(np.float32),
        action=act.reshape(n).astype(np.int32), reward=rew.reshape(n).astype(np.float32),
        discount=np.ones(n, np.float32),
        next_observation=nxt.reshape(n, -1).astype(np.float32),
        episode_id=np.repeat(np.arange(n_ep), length).astype(np.int64),
        step=np.tile(np.arange(length), n_ep).astype(np.int32),
        truncated=np.tile(np.arange(length) == length - 1, n_ep))


def split_by_episode(data: Transitions, *, gamma: float, num_actions: int,
                     valid_fraction: float = 0.2, rng: np.random.Generator,
                     min_valid_episodes: int = MIN_VALID_EPISODES) -> Split:
    """Holds out a random `valid_fraction` of the episodes (at least `min_valid_episodes`).

    Args:
      data: transitions with `episode_id`.
      gamma: discount; num_actions: the task's action count.
      valid_fraction: share of episodes held out, in (0, 1).
      rng: the generator that picks the held-out episodes.
      min_valid_episodes: the fewest validation episodes accepted.

    Raises:
      ConfigError: too few episodes for the validation part (names the minimum) or for
        the training part, or a bad fraction.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ConfigError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    episodes = np.unique(data.episode_id)
    n_valid = int(round(valid_fraction * len(episodes)))
    if n_valid < min_valid_episodes:
        raise ConfigError(f"split: {len(episodes)} episodes give {n_valid} validation "
                          f"episodes at valid_fraction={valid_fraction}; at least "
                          f"{min_valid_episodes} validation episodes are needed")
    if len(episodes) - n_valid < MIN_TRAIN_EPISODES:
        raise ConfigError(f"split: {len(episodes)} episodes leave {len(episodes) - n_valid} "
                          f"training episodes; at least {MIN_TRAIN_EPISODES} are needed")
    held = rng.choice(episodes, size=n_valid, replace=False)
    mask = np.isin(data.episode_id, held)
    return Split(train=data.subset(np.flatnonzero(~mask)), valid=data.subset(np.flatnonzero(mask)),
                 gamma=gamma, num_actions=num_actions)


def split_by_ids(data: Transitions, valid_ids: np.ndarray, *, gamma: float,
                 num_actions: int, min_valid_episodes: int = MIN_VALID_EPISODES) -> Split:
    """The split holding out the episodes `valid_ids` (as `split_by_episode` checks)."""
    mask = np.isin(data.episode_id, valid_ids)
    n_valid = len(np.unique(data.episode_id[mask]))
    if n_valid < min_valid_episodes:
        raise ConfigError(f"split: {n_valid} validation episodes; at least "
                          f"{min_valid_episodes} validation episodes are needed")
    return Split(train=data.subset(np.flatnonzero(~mask)), valid=data.subset(np.flatnonzero(mask)),
                 gamma=gamma, num_actions=num_actions)

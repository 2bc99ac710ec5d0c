"""A candidate for model selection: a Q-function and/or a greedy policy, with its shapes.

Criteria see candidates only through this interface, so a candidate can come from a run
directory (`training.policy.load_q_function`), an FQI fit on the toy task, or anything
that maps a batch of observations to action values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError, IncompatibleError

QFunction = Callable[[np.ndarray], np.ndarray]  # obs (B, *obs_shape) -> (B, A)
PolicyFunction = Callable[[np.ndarray], np.ndarray]  # obs (B, *obs_shape) -> (B,) ints
# obs (B, *obs_shape) -> (penultimate features (B, D), hidden activations per layer)
FeatureFunction = Callable[[np.ndarray], tuple[np.ndarray, tuple[np.ndarray, ...]]]

CHUNK = 8192  # Observations per call into a candidate (bounds memory on large splits).


@dataclasses.dataclass(frozen=True, kw_only=True)
class Candidate:
    """One candidate.

    Attributes:
      name: unique within a pool.
      num_actions: A, the size of the discrete action space it acts in.
      observation_shape: the per-step observation shape it reads.
      q: action values, obs (B, *obs_shape) -> (B, A); None for policy-only candidates
        (BC without values): Bellman-error criteria then do not apply.
      policy: greedy policy obs -> (B,) actions; default argmax of `q`.
      features: penultimate features and hidden activations, for representation criteria.
      metadata: agent, config, checkpoint, `pessimistic` (CQL's Q is pessimistic by design).
    """

    name: str
    num_actions: int
    observation_shape: tuple[int, ...]
    q: QFunction | None = None
    policy: PolicyFunction | None = None
    features: FeatureFunction | None = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.q is None and self.policy is None:
            raise ConfigError(f"candidate {self.name!r}: needs q or policy")
        if self.num_actions < 2:
            raise ConfigError(f"candidate {self.name!r}: num_actions must be >= 2")

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """(N, A) float64 action values, computed in chunks."""
        if self.q is None:
            raise IncompatibleError(f"candidate {self.name!r} has no Q-function")
        return np.concatenate([np.asarray(self.q(obs[i:i + CHUNK]), np.float64)
                               for i in range(0, max(len(obs), 1), CHUNK)])[:len(obs)]

    def actions(self, obs: np.ndarray) -> np.ndarray:
        """(N,) int64 greedy actions."""
        if self.policy is not None:
            return np.concatenate([np.asarray(self.policy(obs[i:i + CHUNK]), np.int64)
                                   for i in range(0, max(len(obs), 1), CHUNK)])[:len(obs)]
        return self.q_values(obs).argmax(-1)


def check_compatible(candidate: Candidate, data: Transitions, num_actions: int) -> None:
    """Raises `IncompatibleError` unless the candidate reads and acts in the data's spaces.

    Args:
      candidate: the candidate.
      data: transitions of the dataset (observation (N, *obs_shape), action (N,) ints).
      num_actions: the dataset task's number of discrete actions.
    """
    obs_shape = tuple(data.observation.shape[1:])
    if tuple(candidate.observation_shape) != obs_shape:
        raise IncompatibleError(f"candidate {candidate.name!r}: observation shape "
                                f"{tuple(candidate.observation_shape)}, the dataset has "
                                f"{obs_shape}")
    if data.action.ndim != 1:
        raise IncompatibleError(f"candidate {candidate.name!r}: selection needs discrete "
                                f"actions, the dataset's are {data.action.shape[1:]} vectors")
    if candidate.num_actions != num_actions:
        raise IncompatibleError(f"candidate {candidate.name!r}: {candidate.num_actions} "
                                f"actions, the dataset's task has {num_actions}")
    if data.size and candidate.q is not None:
        out = np.asarray(candidate.q(data.observation[:1]))
        if out.shape != (1, num_actions):
            raise IncompatibleError(f"candidate {candidate.name!r}: q returns shape "
                                    f"{out.shape[1:]} per observation, expected "
                                    f"({num_actions},)")

"""Fitted Q Evaluation (FQE) of a candidate's policy, giving a value estimate.

Le, Voloshin, Yue (ICML 2019), "Batch Policy Learning under Constraints", Alg. 3:
Q_{k+1} = argmin_f sum_n (f(s_n, a_n) - r_n - gamma (1 - terminal_n)
sum_a' pi(a' | s'_n) Q_k(s'_n, a'))^2, here with f ridge-linear in polynomial state
features, one weight vector per action (`linear.fitted_iteration`). The estimate of
V^pi is the mean of sum_a pi(a | s_0) Q_K(s_0, a) over the initial states s_0 (step 0) of
all episodes of the split. Higher is better (score = value).

The evaluated policy is the candidate's greedy policy, or its epsilon-greedy version
(`epsilon > 0`, used by the doubly robust estimator in `ope`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import linear
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split

NAME = "fqe"


@dataclasses.dataclass(frozen=True, kw_only=True)
class FQEConfig:
    """degree: polynomial degree of the state features; alpha: ridge penalty;
    iterations: Bellman backups (>= the effective horizon 1 / (1 - gamma) is advisable);
    epsilon: evaluate the epsilon-greedy version of the greedy policy."""

    degree: int = 2
    alpha: float = 1.0
    iterations: int = 50
    epsilon: float = 0.0

    def __post_init__(self):
        if self.degree < 1 or self.alpha <= 0 or self.iterations < 1:
            raise ConfigError("FQEConfig: degree >= 1, alpha > 0, iterations >= 1 needed")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ConfigError(f"FQEConfig: epsilon must be in [0, 1], got {self.epsilon}")


def policy_probs(actions: np.ndarray, num_actions: int, epsilon: float) -> np.ndarray:
    """(N, A) probabilities of the epsilon-greedy policy around `actions` (N,)."""
    probs = np.full((len(actions), num_actions), epsilon / num_actions)
    probs[np.arange(len(actions)), actions] += 1.0 - epsilon
    return probs


@dataclasses.dataclass(frozen=True)
class FittedQ:
    """The FQE fit: Q(s, a) = features(s) . weights[a]."""

    features: linear.PolyFeatures
    weights: np.ndarray  # (A, P)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.features(obs).astype(np.float64) @ self.weights.T


def fit_fqe(candidate: Candidate, split: Split, config: FQEConfig) -> FittedQ:
    """FQE of the candidate's (epsilon-)greedy policy on all of the split's transitions."""
    data = split.everything
    feats = linear.PolyFeatures.fit(data.observation, config.degree)
    probs = policy_probs(candidate.actions(data.next_observation), split.num_actions,
                         config.epsilon)
    w = linear.fitted_iteration(
        jnp.asarray(feats(data.observation)), jnp.asarray(data.action, jnp.int32),
        jnp.asarray(data.reward), jnp.asarray(data.discount),
        jnp.asarray(feats(data.next_observation)), jnp.asarray(probs, jnp.float32),
        gamma=split.gamma, lam=config.alpha, iterations=config.iterations)
    return FittedQ(feats, np.asarray(w, np.float64))


# The vmapped fit materialises a (candidates, N, P) float32 array (features times the
# candidates' regression targets): 43 GB for 27 candidates on a 1M-transition MinAtar
# dataset. Pools are fitted in chunks of candidates that keep it under this size.
POOL_CHUNK_BYTES = 6 * 2**30


def fit_fqe_pool(candidates: Sequence[Candidate], split: Split, config: FQEConfig, *,
                 max_bytes: int = POOL_CHUNK_BYTES) -> list[FittedQ]:
    """`fit_fqe` of many candidates in vmapped calls: the features and the per-action
    Gram matrices are shared (vmap leaves what does not depend on the candidate
    unbatched), only the policies' next-state actions differ. Candidates go in chunks
    whose (chunk, N, P) float32 intermediate fits in `max_bytes` (at least one each)."""
    data = split.everything
    feats = linear.PolyFeatures.fit(data.observation, config.degree)
    phi = jnp.asarray(feats(data.observation))
    phi_next = jnp.asarray(feats(data.next_observation))
    size = max(1, max_bytes // (phi.size * phi.dtype.itemsize))
    fits = []
    for start in range(0, len(candidates), size):
        probs = np.stack([policy_probs(c.actions(data.next_observation), split.num_actions,
                                       config.epsilon) for c in candidates[start:start + size]])
        w = linear.batched_fitted_iteration(
            phi, jnp.asarray(data.action, jnp.int32), jnp.asarray(data.reward),
            jnp.asarray(data.discount), phi_next, jnp.asarray(probs, jnp.float32),
            gamma=split.gamma, lam=config.alpha, iterations=config.iterations)
        fits.extend(FittedQ(feats, np.asarray(wi, np.float64)) for wi in w)
    return fits


def initial_states(split: Split) -> np.ndarray:
    """Observations at step 0 of the split's episodes (both parts)."""
    data = split.everything
    return data.observation[data.step == 0]


def fqe_criterion(candidate: Candidate, split: Split, config: FQEConfig | None = None,
                  fitted: FittedQ | None = None) -> CriterionResult:
    """FQE's estimate of the candidate's value at the initial states (higher is better).

    `fitted`: a fit already made for this candidate and config (`fit_fqe_pool`).

    Raises:
      ConfigError: the split holds no initial state (no episode starts in it).
    """
    config = config or FQEConfig()
    s0 = initial_states(split)
    if not len(s0):
        raise ConfigError("fqe: the split holds no initial state (no transition at step 0)")
    fitted = fitted or fit_fqe(candidate, split, config)
    probs = policy_probs(candidate.actions(s0), split.num_actions, config.epsilon)
    value = float(np.mean(np.sum(probs * fitted(s0), -1)))
    return CriterionResult(criterion=NAME, score=value, higher_is_better=True, value=value,
                           details={"initial_states": int(len(s0))})

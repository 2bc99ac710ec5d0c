"""Ridge regression on polynomial state features, one weight vector per action.

The fitted-iteration core shared by FQE (a candidate's policy, Le et al. 2019) and the
toy task's FQI candidates (Ernst et al. 2005): Q(s, a) = poly(s) . w_a, where w_a is the
ridge solution over the transitions that took action a. The design is block-diagonal in
the action, so the normal equations split per action: G_a = sum_{n: a_n = a} p_n p_n^T +
lambda I. `fitted_iteration` is pure jnp: it jits once per shape and vmaps over
candidates (their next-state action distributions).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.preprocessing import PolynomialFeatures

from rl_unplugged import compile_cache
from rl_unplugged.errors import ConfigError

MAX_FEATURES = 4096


@dataclasses.dataclass(frozen=True)
class PolyFeatures:
    """Standardise flattened observations, then all monomials up to `degree` (with a 1)."""

    mean: np.ndarray
    scale: np.ndarray
    degree: int

    @classmethod
    def fit(cls, obs: np.ndarray, degree: int) -> PolyFeatures:
        flat = obs.reshape(len(obs), -1).astype(np.float64)
        n_features = PolynomialFeatures(degree).fit(flat[:1]).n_output_features_
        if n_features > MAX_FEATURES:
            raise ConfigError(f"degree={degree} on {flat.shape[1]}-d observations gives "
                              f"{n_features} features (> {MAX_FEATURES}); lower the degree")
        std = flat.std(0)
        return cls(flat.mean(0), np.where(std > 1e-8, std, 1.0), degree)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        flat = (obs.reshape(len(obs), -1).astype(np.float64) - self.mean) / self.scale
        return PolynomialFeatures(self.degree).fit_transform(flat).astype(np.float32)


def _fitted_iteration(phi, action, reward, discount, phi_next, next_probs, gamma, lam,
                      iterations, greedy_max):
    num_actions = next_probs.shape[-1]
    onehot = jax.nn.one_hot(action, num_actions, dtype=phi.dtype)  # (N, A)
    gram = jnp.einsum("na,np,nq->apq", onehot, phi, phi) + lam * jnp.eye(phi.shape[1])
    chol = jax.vmap(jnp.linalg.cholesky)(gram)

    def solve(y):
        b = jnp.einsum("na,np,n->ap", onehot, phi, y)
        return jax.vmap(lambda c, v: jax.scipy.linalg.cho_solve((c, True), v))(chol, b)

    def body(_, w):
        q_next = phi_next @ w.T  # (N, A)
        v_next = jnp.where(greedy_max, q_next.max(-1), jnp.sum(next_probs * q_next, -1))
        return solve(reward + gamma * discount * v_next)

    return jax.lax.fori_loop(0, iterations, body, solve(reward))


def fitted_iteration(phi: jax.Array, action: jax.Array, reward: jax.Array,
                     discount: jax.Array, phi_next: jax.Array, next_probs: jax.Array, *,
                     gamma: float, lam: float, iterations: int, greedy_max: bool = False
                     ) -> jax.Array:
    """Weights (A, P) after `iterations` fitted Bellman backups (starting from Q = r).

    Args:
      phi, phi_next: (N, P) features of s and s'.
      action: (N,) logged actions; reward, discount: (N,) (discount 0 at terminals).
      next_probs: (N, A) the evaluated policy's action probabilities at s' (FQE); ignored
        when `greedy_max` (FQI: the max over actions).
      gamma, lam: discount and ridge penalty; iterations: number of backups.
    """
    fn = compile_cache.cached(("selection.fitted_iteration", iterations),
                              lambda: jax.jit(_fitted_iteration, static_argnums=(8,)))
    return fn(phi, action, reward, discount, phi_next, next_probs, gamma, lam, iterations,
              greedy_max)


def batched_fitted_iteration(phi, action, reward, discount, phi_next, next_probs, *,
                             gamma: float, lam: float, iterations: int) -> jax.Array:
    """`fitted_iteration` (FQE) vmapped over a leading candidate axis of `next_probs`
    (M, N, A) -> weights (M, A, P)."""
    axes = (None, None, None, None, None, 0, None, None, None, None)
    fn = compile_cache.cached(
        ("selection.batched_fitted_iteration", iterations),
        lambda: jax.jit(jax.vmap(_fitted_iteration, in_axes=axes), static_argnums=(8,)))
    return fn(phi, action, reward, discount, phi_next, next_probs, gamma, lam, iterations,
              False)

"""Bellman targets and the shared array cores of the Bellman-error criteria.

All functions are pure jnp and vmap over a leading candidate axis, which is how
`benchmarks/selection.py` scores a pool at once.

Alignment (see `rl_unplugged.data.episode`): `discount` is 0 where the next observation
is terminal and 1 otherwise (gamma excluded), so the optimality target is
Y = r + gamma * discount * max_a' Q(s', a') (Zitovsky et al. 2023, eq. 2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def optimality_targets(q_next: jax.Array, reward: jax.Array, discount: jax.Array,
                       gamma: float) -> jax.Array:
    """Y = r + gamma (1 - terminal) max_a' Q(s', a'); q_next (N, A) -> (N,)."""
    return reward + gamma * discount * jnp.max(q_next, axis=-1)


def chosen(q: jax.Array, action: jax.Array) -> jax.Array:
    """Q(s, a) of the logged actions: q (N, A), action (N,) -> (N,)."""
    return jnp.take_along_axis(q, action[:, None].astype(jnp.int32), axis=-1)[:, 0]


def td_error(q: jax.Array, q_next: jax.Array, action: jax.Array, reward: jax.Array,
             discount: jax.Array, gamma: float) -> jax.Array:
    """Empirical mean squared Bellman error mean_n (Y_n - Q(s_n, a_n))^2 (EMSBE).

    Zitovsky et al. 2023, eq. 4: its expectation is the MSBE plus E[Var(Y | s, a)], the
    bias that SBV removes.
    """
    y = optimality_targets(q_next, reward, discount, gamma)
    return jnp.mean((y - chosen(q, action)) ** 2)

"""IQL's losses (Kostrikov et al. 2022, "Offline RL with Implicit Q-Learning").

Value (eq. 5): L_V = E[L2_tau(min_i Q'_i(s, a) - V(s))], L2_tau(u) = |tau - 1(u < 0)| u^2.
Critics (eq. 6): L_Q = E[(r + gamma d V(s') - Q_i(s, a))^2] for each critic.
Policy (eq. 7, AWR): L_pi = -E[min(exp(beta (Q'(s, a) - V(s))), max_weight) log pi(a|s)].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def expectile_loss(diff: jax.Array, expectile: jax.Array | float) -> jax.Array:
    """mean |tau - 1(diff < 0)| diff^2 over all entries (diff = target - prediction)."""
    weight = jnp.where(diff < 0, 1.0 - expectile, expectile)
    return jnp.mean(weight * diff**2)


def awr_weights(advantage: jax.Array, beta: jax.Array | float,
                max_weight: jax.Array | float) -> jax.Array:
    """min(exp(beta A), max_weight), without gradient."""
    return jax.lax.stop_gradient(jnp.minimum(jnp.exp(beta * advantage), max_weight))


def awr_policy_loss(log_prob: jax.Array, weights: jax.Array) -> jax.Array:
    """-mean(weights * log pi(a|s)); both (B,)."""
    return -jnp.mean(weights * log_prob)

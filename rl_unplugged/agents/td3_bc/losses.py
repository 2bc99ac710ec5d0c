"""TD3+BC's losses (Fujimoto & Gu 2021, "A Minimalist Approach to Offline RL").

Critics (TD3, Fujimoto et al. 2018, eq. 15): y = r + gamma d min_i Q'_i(s', a'),
a' = clip(pi'(s') + clip(eps, -c, c), -1, 1), eps ~ N(0, sigma^2); each critic
regresses on y with a squared error.
Policy (Fujimoto & Gu 2021, eq. 3-4): pi = argmax E[lambda Q_1(s, pi(s)) - (pi(s) - a)^2],
lambda = alpha / ((1/N) sum |Q_1(s_i, pi(s_i))|), lambda's denominator held constant.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def smoothed_target_action(policy_action: jax.Array, noise: jax.Array,
                           noise_clip: jax.Array) -> jax.Array:
    """a' = clip(pi'(s') + clip(noise, -c, c), -1, 1); all (B, A), normalised actions."""
    return jnp.clip(policy_action + jnp.clip(noise, -noise_clip, noise_clip), -1.0, 1.0)


def critic_loss(q: jax.Array, target: jax.Array) -> jax.Array:
    """Sum over critics of the mean squared TD error; q (C, B), target (B,)."""
    return jnp.sum(jnp.mean((q - jax.lax.stop_gradient(target)) ** 2, axis=-1))


def bc_lambda(q: jax.Array, alpha: jax.Array | float) -> jax.Array:
    """lambda = alpha / mean|Q| over the batch (no gradient through the denominator)."""
    return alpha / jax.lax.stop_gradient(jnp.mean(jnp.abs(q)))


def policy_loss(q: jax.Array, policy_action: jax.Array, action: jax.Array,
                alpha: jax.Array | float) -> tuple[jax.Array, dict[str, jax.Array]]:
    """-lambda mean_b Q_1(s, pi(s)) + mean_{b,i} (pi(s)_i - a_i)^2 (the BC term averaged
    over batch and action dims, as in the paper's code); q (B,), actions (B, A)."""
    lam = bc_lambda(q, alpha)
    bc = jnp.mean((policy_action - action) ** 2)
    return -lam * jnp.mean(q) + bc, {"lambda": lam, "bc_mse": bc}

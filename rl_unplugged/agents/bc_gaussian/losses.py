"""Continuous BC loss: negative log-likelihood under a tanh-Gaussian policy.

L(theta) = -E_{(s,a)~D} log pi_theta(a|s) (Pomerleau 1991), with pi_theta(.|s) =
tanh(N(mu_theta(s), sigma_theta(s)^2)) and the change of variables
log pi(a|s) = log N(atanh a) - sum_i log(1 - a_i^2) (Haarnoja et al. 2018, SAC, eq. 26).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rl_unplugged.agents import actor_critic


def bc_loss(mean: jax.Array, log_std: jax.Array, action: jax.Array
            ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """mean, log_std (B, A) pre-tanh; action (B, A) normalised to [-1, 1] -> loss, metrics."""
    log_prob = actor_critic.log_prob(mean, log_std, action)
    mse = jnp.mean(jnp.sum((jnp.tanh(mean) - action) ** 2, axis=-1))
    return -jnp.mean(log_prob), {"mean_action_mse": mse, "log_std": jnp.mean(log_std)}

"""QR-DQN loss (Dabney et al. 2018, "Distributional RL with Quantile Regression").

Quantile midpoints tau_i = (2i + 1) / (2N), i = 0..N-1. With u_ij = T_j - theta_i the
quantile Huber loss (eq. 10) is rho_tau(u) = |tau - 1{u < 0}| * L_kappa(u) / kappa,
and the loss is sum_i mean_j rho_{tau_i}(u_ij), averaged over the batch. The target
quantiles are T_j = r + gamma d theta^target_j(s', a*), with a* chosen by the online
network's mean over quantiles (double-DQN selection).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rl_unplugged.agents.common import huber, select_action_values


def quantile_midpoints(num_atoms: int) -> jax.Array:
    return (jnp.arange(num_atoms, dtype=jnp.float32) + 0.5) / num_atoms


def quantile_huber_loss(quantiles: jax.Array, targets: jax.Array, kappa) -> jax.Array:
    """quantiles (B, N) predicted theta_i; targets (B, N') T_j -> (B,) losses (eq. 10)."""
    tau = quantile_midpoints(quantiles.shape[-1])
    u = targets[:, None, :] - quantiles[:, :, None]  # (B, N, N'): u_ij = T_j - theta_i.
    weight = jnp.abs(tau[None, :, None] - (u < 0).astype(jnp.float32))
    rho = weight * huber(u, kappa) / kappa
    return rho.mean(axis=2).sum(axis=1)


def quantile_targets(reward, discount, gamma, next_online: jax.Array, next_target: jax.Array
                     ) -> jax.Array:
    """next_*: (B, A, N) quantiles at s' -> (B, N) target quantiles (gradient stopped)."""
    best = jnp.argmax(next_online.mean(-1), axis=-1)
    theta = select_action_values(next_target, best)
    return jax.lax.stop_gradient(reward[:, None] + gamma * discount[:, None] * theta)


def qr_loss(z: jax.Array, action, reward, discount, next_online, next_target, *, gamma, kappa
            ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """z, next_*: (B, A, N) quantiles; action, reward, discount (B,) -> loss, metrics."""
    targets = quantile_targets(reward, discount, gamma, next_online, next_target)
    z_a = select_action_values(z, action)
    loss = jnp.mean(quantile_huber_loss(z_a, targets, kappa))
    q = z.mean(-1)
    return loss, {"td_loss": loss, "q_data": jnp.mean(z_a.mean(-1)),
                  "q_max": jnp.mean(q.max(-1)), "target": jnp.mean(targets)}

"""CQL(SAC)'s losses (Kumar et al. 2020, "Conservative Q-Learning for Offline RL").

Critic (eq. 4, CQL(H)): L = TD + alpha * (E_s[log sum_a' exp Q(s, a')] - E_{s,a~D}[Q(s, a)]),
the log-sum-exp estimated by importance sampling (App. F, "CQL(H) implementation"):
log sum_a exp Q(s, a) ~ logsumexp_j (Q(s, a_j) - log mu(a_j|s)) over N uniform actions
(density (1/2)^A on [-1, 1]^A) and N actions of the current policy (density pi(a_j|s));
the authors' code also adds N policy actions at s' (evaluated at s), and like us does
not subtract the log of the sample count (a constant). `config.py` lists the other
differences from their code.
Lagrange (eq. 30): alpha' * (alpha * penalty - tau), alpha' >= 0 maximised by gradient ascent.
SAC (Haarnoja et al. 2018): policy L = E[temp log pi(a|s) - min_i Q_i(s, a)], a ~ pi;
temperature L = -log(temp) * E[log pi(a|s) + target_entropy];
critic target y = r + gamma d (min_i Q'_i(s', a') - temp log pi(a'|s')).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def cql_penalty(q_uniform: jax.Array, q_policy: jax.Array, log_pi: jax.Array,
                q_data: jax.Array, action_size: int) -> jax.Array:
    """The importance-sampled CQL(H) penalty of each critic.

    Args:
      q_uniform: (C, N, B) Q of N uniform actions in [-1, 1]^A.
      q_policy: (C, N, B) Q of N actions sampled from the current policy.
      log_pi: (N, B) log pi of those actions (no gradient).
      q_data: (C, B) Q of the dataset actions.
      action_size: A.
    Returns:
      (C,) penalties E_s[logsumexp_j(...)] - E[Q(s, a)].
    """
    log_uniform = -action_size * jnp.log(2.0)
    both = jnp.concatenate([q_uniform - log_uniform,
                            q_policy - jax.lax.stop_gradient(log_pi)[None]], axis=1)
    return jnp.mean(logsumexp(both, axis=1), axis=-1) - jnp.mean(q_data, axis=-1)


def alpha_prime(log_alpha_prime: jax.Array | float, max_alpha_prime: float) -> jax.Array:
    """The Lagrange multiplier alpha' = exp(log alpha') clipped to [0, max_alpha_prime]."""
    return jnp.clip(jnp.exp(log_alpha_prime), 0.0, max_alpha_prime)


def alpha_prime_loss(log_alpha_prime: jax.Array, penalty: jax.Array, alpha: jax.Array | float,
                     target_action_gap: jax.Array | float, max_alpha_prime: float
                     ) -> jax.Array:
    """The Lagrange multiplier's loss -alpha' * mean_i(alpha * penalty_i - tau) (eq. 30):
    gradient descent on log alpha' raises alpha' while the weighted penalty exceeds tau.

    Args:
      log_alpha_prime: the trained parameter; alpha' is `alpha_prime` of it.
      penalty: (C,) each critic's CQL penalty (no gradient flows to it).
      alpha: the penalty's weight; target_action_gap: tau; max_alpha_prime: alpha's clip.
    """
    return -alpha_prime(log_alpha_prime, max_alpha_prime) * jnp.mean(
        alpha * jax.lax.stop_gradient(penalty) - target_action_gap)


def soft_td_target(reward: jax.Array, discount: jax.Array, next_q: jax.Array,
                   next_log_pi: jax.Array, temperature: jax.Array) -> jax.Array:
    """SAC's critic target y = r + discount * (min_i Q'_i(s', a') - temp log pi(a'|s')),
    a' ~ pi(.|s'); `discount` the whole multiplier (gamma * not-done, or an n-step
    gamma^m with 0 after a termination); all (B,)."""
    return reward + discount * (next_q - temperature * next_log_pi)


def sac_policy_loss(log_pi: jax.Array, q: jax.Array, temperature: jax.Array) -> jax.Array:
    """mean(temp log pi(a|s) - Q(s, a)); log_pi, q (B,)."""
    return jnp.mean(temperature * log_pi - q)


def temperature_loss(log_temperature: jax.Array, log_pi: jax.Array,
                     target_entropy: float) -> jax.Array:
    """-log(temp) * mean(log pi + target_entropy), log pi without gradient."""
    return -log_temperature * jnp.mean(jax.lax.stop_gradient(log_pi) + target_entropy)

"""CRR's losses (Wang et al. 2020, "Critic Regularized Regression") and the mixture-of-
Gaussians critic (Shahriari et al. 2022, "Revisiting Gaussian mixture critics in off-policy RL").

Policy (eq. 3): L_pi = -E_{(s,a)~D}[f(Q, pi, s, a) log pi(a|s)], with the advantage
A(s, a) = Q(s, a) - (1/m) sum_j Q(s, a_j), a_j ~ pi(.|s) (eq. 4, the mean estimator),
and the filters f = 1[A > 0] (binary) or f = min(exp(A / beta), max_weight) (exp).
Critic: y = r + gamma d (1/m) sum_j Q'(s', a'_j), a'_j ~ pi(.|s'), squared error.
MoG critic (Shahriari et al. 2022, Sec. 3): Z(s, a) ~ sum_k w_k N(mu_k, sigma_k^2); the
loss is the cross-entropy -E_{z ~ r + gamma d Z'(s', a'), a' ~ pi} log p_Z(s,a)(z),
estimated with samples of the target mixtures at the m policy actions; Q is the
mixture's mean.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

MIN_SCALE = 1e-3  # Floor of each component's standard deviation.


def advantage(q: jax.Array, q_sampled: jax.Array) -> jax.Array:
    """A = Q(s, a) - mean_j Q(s, a_j); q (B,), q_sampled (m, B) -> (B,)."""
    return q - jnp.mean(q_sampled, axis=0)


def binary_filter(adv: jax.Array) -> jax.Array:
    """1[A > 0] as float32."""
    return (adv > 0).astype(jnp.float32)


def exp_filter(adv: jax.Array, beta: jax.Array | float, max_weight: jax.Array | float
               ) -> jax.Array:
    """min(exp(A / beta), max_weight)."""
    return jnp.minimum(jnp.exp(adv / beta), max_weight)


def crr_policy_loss(log_prob: jax.Array, weights: jax.Array) -> jax.Array:
    """-mean(f log pi(a|s)), the filter's weights without gradient; both (B,)."""
    return -jnp.mean(jax.lax.stop_gradient(weights) * log_prob)


def mixture(head: jax.Array):
    """The MoG return distribution of critic outputs (..., 3K): logits, means, raw scales."""
    from rl_unplugged.agents.distributions import tfd  # Lazy: TFP imports take ~1 s.

    logits, loc, raw_scale = jnp.split(head, 3, axis=-1)
    scale = jax.nn.softplus(raw_scale) + MIN_SCALE
    return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), tfd.Normal(loc, scale))


def mixture_mean(head: jax.Array) -> jax.Array:
    """Q = sum_k w_k mu_k of critic outputs (..., 3K) -> (...)."""
    logits, loc, _ = jnp.split(head, 3, axis=-1)
    return jnp.sum(jax.nn.softmax(logits, axis=-1) * loc, axis=-1)


def mog_target_samples(next_head: jax.Array, m: int, num_samples: int, key: jax.Array
                       ) -> jax.Array:
    """Samples of Z'(s', a'), a' ~ pi, for the MoG critic's target, stratified over the
    m policy actions: num_samples / m from each action's mixture.

    Args:
      next_head: (C, m * B, 3K), the target critics' mixtures at m policy actions per
        transition, sample-major (action j of transition b at row j * B + b).
      m: policy actions per transition.
      num_samples: n, a multiple of m.
      key: PRNG key.
    Returns:
      (n, C, B): sample i drawn at action i mod m.
    Raises:
      ValueError: the rows are not m per transition, or n is not a multiple of m.
    """
    c, rows, _ = next_head.shape
    if rows % m or num_samples % m:
        raise ValueError(f"{rows} target rows and {num_samples} samples must both be "
                         f"multiples of m = {m} (actions per transition)")
    per = num_samples // m
    z = mixture(next_head).sample(per, seed=key).reshape(per, c, m, rows // m)
    # (per, C, m, B) -> (per, m, C, B) -> (n, C, B): sample k * m + j at action j.
    return jnp.swapaxes(z, 1, 2).reshape(num_samples, c, rows // m)


def mog_cross_entropy(head: jax.Array, target_samples: jax.Array) -> jax.Array:
    """-mean log p(z) of target samples under the predicted mixture.

    head (B, 3K) predicted; target_samples (n, B) of r + gamma d Z'(s', a') (no gradient).
    """
    return -jnp.mean(mixture(head).log_prob(jax.lax.stop_gradient(target_samples)))

"""Representation probes: pure functions of a fixed batch of features.

Features Phi are the penultimate-layer outputs (B, D) of a network on a fixed
probe batch of dataset states. All functions are jit- and vmap-friendly.

- `srank`: effective rank srank_delta(Phi) = min k such that
  sum_{i<=k} sigma_i / sum_i sigma_i >= 1 - delta (Kumar et al. 2021, "Implicit
  Under-Parameterization", eq. 1; delta = 0.01). Returned as a count (1-based).
- `erank`: exp of the entropy of sigma / sum(sigma) (Roy & Vetterli 2007).
- `feature_rank`: #{sigma_i(Phi / sqrt(B)) > eps}, eps = 0.01 (Lyle et al. 2022,
  "Understanding and Preventing Capacity Loss"); dividing by sqrt(B) makes it
  independent of the probe batch size.
- `dormant_fraction`: neuron i of a layer is tau-dormant if
  E|h_i| / mean_k E|h_k| <= tau (Sokar et al. 2023, ReDo, Def. 3.1). The last axis
  of a layer's activations indexes its neurons: a dense layer's units (B, D), or a
  conv layer's channels (B, H, W, C), whose score averages |h| over the batch AND the
  spatial positions (ReDo; Dopamine's `labs/redo/weight_recyclers.py`,
  `estimate_neuron_score`). The overall `dormant_<tau>` weighs layers by neurons.
- `feature_norm`: mean ||phi(s)||_2.
- `dr3_coadaptation`: mean phi(s, a) . phi(s', a') over dataset transitions (Kumar et
  al. 2022, DR3, eq. 3); with state-only torsos phi(s, a) = phi(s).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

DORMANT_TAUS = (0.0, 0.025, 0.1)


def singular_values(features: jax.Array) -> jax.Array:
    """(B, D) -> (min(B, D),) singular values, descending."""
    return jnp.linalg.svd(features.astype(jnp.float32), compute_uv=False)


def srank(features: jax.Array, delta: float = 0.01) -> jax.Array:
    """srank_delta: the smallest k whose top-k singular values hold 1 - delta of the sum."""
    sigma = singular_values(features)
    total = jnp.sum(sigma)
    cumulative = jnp.cumsum(sigma) / jnp.where(total > 0, total, 1.0)
    # The first index reaching 1 - delta, plus one: k counts singular values.
    k = jnp.argmax(cumulative >= 1.0 - delta) + 1
    return jnp.where(total > 0, k, 0)


def erank(features: jax.Array) -> jax.Array:
    """Roy-Vetterli effective rank exp(H(p)), p = sigma / sum(sigma) (0 log 0 = 0)."""
    sigma = singular_values(features)
    p = sigma / jnp.maximum(jnp.sum(sigma), 1e-12)
    entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
    return jnp.exp(entropy)


def feature_rank(features: jax.Array, eps: float = 0.01) -> jax.Array:
    """Number of singular values of Phi / sqrt(B) above eps."""
    sigma = singular_values(features) / jnp.sqrt(features.shape[0])
    return jnp.sum(sigma > eps)


def neuron_scores(activations: jax.Array) -> jax.Array:
    """ReDo's neuron score E|h_i|: mean |h| over every axis but the last (the neurons).

    Args:
      activations: (B, units) for a dense layer, (B, H, W, channels) for a conv layer
        (a channel is one neuron; its spatial positions are not separate units).

    Returns:
      (neurons,) mean absolute activations.
    """
    return jnp.mean(jnp.abs(activations), axis=tuple(range(activations.ndim - 1)))


def dormant_fraction(activations: jax.Array, tau: float) -> jax.Array:
    """Fraction of tau-dormant neurons in one layer: activations (B, units) or
    (B, H, W, channels) (see `neuron_scores`)."""
    score = neuron_scores(activations)
    normalised = score / jnp.maximum(jnp.mean(score), 1e-12)
    return jnp.mean(normalised <= tau)


def feature_norm(features: jax.Array) -> jax.Array:
    return jnp.mean(jnp.linalg.norm(features, axis=-1))


def dr3_coadaptation(features: jax.Array, next_features: jax.Array) -> jax.Array:
    """Mean dot product phi(s) . phi(s') over transitions; both (B, D)."""
    return jnp.mean(jnp.sum(features * next_features, axis=-1))


def all_probes(features: jax.Array, next_features: jax.Array,
               activations: Sequence[jax.Array], taus: Sequence[float] = DORMANT_TAUS
               ) -> dict[str, jax.Array]:
    """Every probe, named as logged: srank, erank, feature_rank, feature_norm, dr3,
    dormant_<tau>_layer<i> per hidden layer, and dormant_<tau> over all neurons (each
    layer weighted by its neuron count: units of a dense layer, channels of a conv).

    Args:
      features, next_features: (B, D) representations of s and s'.
      activations: each hidden layer's post-ReLU output, neurons on the last axis:
        (B, units) dense, (B, H, W, channels) conv.
      taus: dormancy thresholds.
    """
    out = {"srank": srank(features), "erank": erank(features),
           "feature_rank": feature_rank(features), "feature_norm": feature_norm(features),
           "dr3": dr3_coadaptation(features, next_features)}
    for tau in taus:
        fractions = [dormant_fraction(a, tau) for a in activations]
        sizes = [a.shape[-1] for a in activations]  # Neurons: units or channels.
        for i, f in enumerate(fractions):
            out[f"dormant_{tau:g}_layer{i}"] = f
        out[f"dormant_{tau:g}"] = sum(f * s for f, s in zip(fractions, sizes, strict=True)) / sum(
            sizes)
    return {k: jnp.asarray(v, jnp.float32) for k, v in out.items()}

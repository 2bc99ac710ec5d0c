"""The CQL(H) penalty (Kumar et al. 2020, eq. 4, discrete actions).

penalty = E_{s,a ~ D}[logsumexp_a' Q(s, a') - Q(s, a)]; the loss is
TD loss + alpha * penalty. Over QR-DQN, Q is the mean over quantiles.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from rl_unplugged.agents.common import select_action_values


def cql_penalty(q: jax.Array, action: jax.Array) -> jax.Array:
    """q (B, A) Q-values, action (B,) dataset actions -> scalar penalty."""
    return jnp.mean(logsumexp(q, axis=-1) - select_action_values(q, action))

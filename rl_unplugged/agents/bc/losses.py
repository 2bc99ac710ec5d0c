"""BC loss: negative log-likelihood of the dataset actions (Pomerleau 1991).

L(theta) = -E_{(s,a)~D} log pi_theta(a|s), pi_theta = Categorical(logits=f_theta(s)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

if TYPE_CHECKING:
    from rl_unplugged.agents.distributions import tfd


def policy(logits: jax.Array) -> tfd.Categorical:
    """The BC policy pi(.|s): a categorical over actions; logits (B, A)."""
    # Imported here: TFP takes ~1 s to import, and importing the agents (the behaviour DQN
    # of dataset generation included) should not pay it unless BC runs.
    from rl_unplugged.agents.distributions import tfd

    return tfd.Categorical(logits=logits)


def bc_loss(logits: jax.Array, action: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean cross-entropy. logits (B, A), action (B,) int -> scalar loss, metrics."""
    dist = policy(logits)
    loss = -jnp.mean(dist.log_prob(action))
    accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == action)
    return loss, {"accuracy": accuracy, "entropy": jnp.mean(dist.entropy())}

"""Double-DQN TD loss (Mnih et al. 2015; van Hasselt et al. 2016).

L = E[huber_kappa(y - Q(s, a))], y = r + gamma d Q_target(s', argmax_a' Q(s', a')).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rl_unplugged.agents.common import double_q_target, huber, select_action_values


def td_loss(q: jax.Array, action: jax.Array, reward: jax.Array, discount: jax.Array,
            next_q_online: jax.Array, next_q_target: jax.Array, *, gamma, kappa
            ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """q, next_q_*: (B, A); action, reward, discount: (B,) -> scalar loss, metrics."""
    target = double_q_target(reward, discount, gamma, next_q_online, next_q_target)
    q_a = select_action_values(q, action)
    loss = jnp.mean(huber(target - q_a, kappa))
    return loss, {"td_loss": loss, "q_data": jnp.mean(q_a), "q_max": jnp.mean(q.max(-1)),
                  "target": jnp.mean(target)}

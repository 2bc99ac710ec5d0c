"""The behaviour agent: an online double DQN (van Hasselt et al. 2016).

Everything that changes lives in `TrainingState`; `update` is a pure
`(state, batch) -> (state, metrics)`. The loss is the Huber loss (delta 1) on

  y = r + gamma * d * Q_target(o', argmax_a Q_online(o', a))         (double DQN)

with d = 0 only at true terminal states (time-limit truncations bootstrap), a hard
target-network copy every `target_update_period` SGD steps, and Adam. Acting is
epsilon-greedy with a linear epsilon decay (`epsilon_at`); its uniforms come from
the key in the state, `EXPLORE_BLOCK` environment steps at a time (`exploration`):
drawing them inside the per-step jitted call costs ~4x the greedy forward pass on
CPU, and drawn by block they stay a pure function of (key, environment step).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from rl_unplugged import networks
from rl_unplugged.specs import BehaviourConfig, TaskSpec

# Environment steps whose exploration uniforms are drawn by one `exploration` call.
EXPLORE_BLOCK = 1024


class TrainingState(NamedTuple):
    """The agent's whole mutable state. Params are kept raveled into one flat vector
    (`Agent.unravel` restores the flax pytree): a jitted call's dispatch cost grows
    with its number of leaves, and one call per environment step dominates the
    generation of small-network datasets."""

    params: jax.Array  # (P,) float32, the online network.
    target_params: jax.Array  # (P,) float32
    opt_state: Any  # Adam's state over the flat params.
    key: jax.Array  # Exploration key (constant; see `exploration`).
    sgd_steps: jax.Array  # int32 scalar: SGD steps taken.


class Batch(NamedTuple):
    observation: jax.Array  # (B, *obs_shape)
    action: jax.Array  # (B,) int32
    reward: jax.Array  # (B,) float32
    discount: jax.Array  # (B,) float32, 0 at terminal next states.
    next_observation: jax.Array  # (B, *obs_shape)


def epsilon_at(config: BehaviourConfig, env_steps: int) -> float:
    """Linear decay from epsilon_start to epsilon_end over epsilon_decay_steps env steps."""
    if config.epsilon_decay_steps <= 0:
        return config.epsilon_end
    frac = min(1.0, env_steps / config.epsilon_decay_steps)
    return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


def double_dqn_loss(params, target_params, batch: Batch, *, network: nn.Module,
                    gamma: float) -> jax.Array:
    """Mean Huber(y - Q(o, a)) with the double-DQN target y above (a scalar)."""
    n = batch.observation.shape[0]
    both = jnp.concatenate([batch.observation, batch.next_observation])
    q_all = network.apply(params, both).values
    q, q_next_online = q_all[:n], q_all[n:]
    q_next_target = network.apply(target_params, batch.next_observation).values
    best = jnp.argmax(q_next_online, axis=-1)
    next_value = jnp.take_along_axis(q_next_target, best[:, None], axis=-1)[:, 0]
    target = jax.lax.stop_gradient(batch.reward + gamma * batch.discount * next_value)
    q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
    return jnp.mean(optax.huber_loss(q_taken, target, delta=1.0))


class Agent:
    """Jitted pure functions of one task's behaviour DQN (compiled once per agent)."""

    def __init__(self, task: TaskSpec, config: BehaviourConfig):
        self.task = task
        self.config = config
        self.network = networks.make_network(task, config.hidden)
        self.optimizer = optax.adam(config.learning_rate)
        self._dummy_obs = jnp.zeros((1, *task.observation.shape), task.observation.dtype)
        shapes = jax.eval_shape(self.network.init, jax.random.PRNGKey(0), self._dummy_obs)
        zeros = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
        _, self.unravel = ravel_pytree(zeros)
        loss = functools.partial(double_dqn_loss, network=self.network, gamma=task.gamma)
        self._grad = jax.value_and_grad(
            lambda flat, target, batch: loss(self.unravel(flat), self.unravel(target), batch))
        self.init = jax.jit(self._init)
        self.greedy = jax.jit(self._greedy)
        self.exploration = jax.jit(self._exploration)
        self.update = jax.jit(self._update)
        self.update_and_greedy = jax.jit(self._update_and_greedy)

    def _init(self, key: jax.Array) -> TrainingState:
        key, init_key = jax.random.split(key)
        params, _ = ravel_pytree(self.network.init(init_key, self._dummy_obs))
        return TrainingState(params=params, target_params=params,
                             opt_state=self.optimizer.init(params), key=key,
                             sgd_steps=jnp.zeros((), jnp.int32))

    def _greedy(self, params: jax.Array, obs: jax.Array) -> jax.Array:
        """argmax_a Q(obs, a) for one observation (an int32 scalar)."""
        q = self.network.apply(self.unravel(params), obs[None]).values[0]
        return jnp.argmax(q).astype(jnp.int32)

    def _exploration(self, key: jax.Array, block: jax.Array) -> jax.Array:
        """(EXPLORE_BLOCK, 2) uniforms of environment steps [block * EXPLORE_BLOCK, ...).

        Column 0 decides exploration (u < epsilon), column 1 picks the uniform action
        (floor(u * num_actions)); see `explore`.
        """
        return jax.random.uniform(jax.random.fold_in(key, block), (EXPLORE_BLOCK, 2))

    def _update(self, state: TrainingState, batch: Batch) -> tuple[TrainingState, dict]:
        loss, grads = self._grad(state.params, state.target_params, batch)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        sgd_steps = state.sgd_steps + 1
        copy = sgd_steps % self.config.target_update_period == 0
        target = jnp.where(copy, params, state.target_params)
        new = TrainingState(params, target, opt_state, state.key, sgd_steps)
        return new, {"loss": loss}

    def _update_and_greedy(self, state: TrainingState, batch: Batch, obs: jax.Array):
        """`update` then `greedy` with the new params: one dispatch per environment step."""
        state, _ = self._update(state, batch)
        return state, self._greedy(state.params, obs)


@functools.lru_cache(maxsize=16)
def agent_for(task: TaskSpec, config: BehaviourConfig) -> Agent:
    """A shared `Agent` per (task, config): its jitted functions compile once per process
    (building the noise levels and runs of a task reuses them; it holds no state)."""
    return Agent(task, config)


def explore(uniforms, epsilon: float, greedy: int, num_actions: int) -> int:
    """Epsilon-greedy choice from one row of `Agent.exploration` uniforms."""
    if uniforms[0] < epsilon:
        return min(int(uniforms[1] * num_actions), num_actions - 1)
    return greedy

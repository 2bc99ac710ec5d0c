"""The behaviour agent: an online double DQN, a thin adapter over the agents' core.

Loss, target update, Adam, state and SGD step are `rl_unplugged.agents`': DQN's
`loss_fn` (Huber, kappa 1, on the double-DQN target with d = 0 only at true
terminal states) through `common.sgd_update` (hard target copy every
`target_update_period` SGD steps), with the task's gamma, kappa and the learning
rate fixed at trace time. What this module adds is only what makes one jitted call
per environment step cheap:

- raveled params: `TrainingState.params` is one flat (P,) vector (`Agent.unravel`
  restores the flax pytree), since a jitted call's dispatch cost grows with its
  number of leaves; no traced hparams and a constant exploration key for the same reason;
- `update_and_greedy`: the SGD step and the next action in one dispatch;
- blocked exploration draws: epsilon-greedy uniforms come from the key in the
  state, `EXPLORE_BLOCK` environment steps at a time (`exploration`); drawing them
  inside the per-step call costs ~4x the greedy forward pass on CPU, and drawn by
  block they stay a pure function of (key, environment step).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from rl_unplugged import compile_cache, networks
from rl_unplugged.agents import common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.dqn import learning as dqn_learning
from rl_unplugged.specs import BehaviourConfig, TaskSpec

__all__ = ["EXPLORE_BLOCK", "Agent", "Batch", "TrainingState", "agent_for", "epsilon_at",
           "explore"]

# Environment steps whose exploration uniforms are drawn by one `exploration` call.
EXPLORE_BLOCK = 1024
# The behaviour DQN's Huber threshold (bsuite's and Dopamine's DQN).
HUBER_KAPPA = 1.0


def epsilon_at(config: BehaviourConfig, env_steps: int) -> float:
    """Linear decay from epsilon_start to epsilon_end over epsilon_decay_steps env steps."""
    if config.epsilon_decay_steps <= 0:
        return config.epsilon_end
    frac = min(1.0, env_steps / config.epsilon_decay_steps)
    return config.epsilon_start + frac * (config.epsilon_end - config.epsilon_start)


class Agent:
    """Jitted pure functions of one task's behaviour DQN (compiled once per agent).

    Its `TrainingState` has flat (P,) params and target params, Adam's state over
    them, the constant exploration key, `step` (SGD steps taken) and no hparams.
    """

    def __init__(self, task: TaskSpec, config: BehaviourConfig):
        self.task = task
        self.config = config
        self.network = networks.make_network(task, config.hidden, conv=networks.BEHAVIOUR_CONV)
        self.optimizer = common.make_optimizer(config.learning_rate, traced=False)
        self._dummy_obs = common.dummy_observation(task)
        shapes = jax.eval_shape(self.network.init, jax.random.PRNGKey(0), self._dummy_obs)
        zeros = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
        _, self.unravel = ravel_pytree(zeros)
        # joint_forward: the recorded builds were made with one forward pass over [s; s'].
        loss = functools.partial(dqn_learning.loss_fn, network=self.network, gamma=task.gamma,
                                 kappa=HUBER_KAPPA, joint_forward=True)
        self._sgd_update = functools.partial(
            common.sgd_update, optimizer=self.optimizer, split_key=False,
            target_update_period=config.target_update_period,
            loss_fn=lambda flat, flat_target, state, batch, key: loss(
                self.unravel(flat), self.unravel(flat_target), state, batch, key))
        self.init = jax.jit(self._init)
        self.greedy = jax.jit(self._greedy)
        self.exploration = jax.jit(self._exploration)
        self.update = jax.jit(self._update)
        self.update_and_greedy = jax.jit(self._update_and_greedy)

    def _init(self, key: jax.Array) -> TrainingState:
        # This split order (state key first) is the one the recorded datasets were made with.
        key, init_key = jax.random.split(key)
        params, _ = ravel_pytree(self.network.init(init_key, self._dummy_obs))
        return common.new_state(params, key, self.optimizer, hparams={})

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
        """One SGD step; metrics: the loss only (the rest is not computed)."""
        state, metrics = self._sgd_update(state, batch)
        return state, {"loss": metrics["loss"]}

    def _update_and_greedy(self, state: TrainingState, batch: Batch, obs: jax.Array):
        """`update` then `greedy` with the new params: one dispatch per environment step."""
        state, _ = self._update(state, batch)
        return state, self._greedy(state.params, obs)


def agent_for(task: TaskSpec, config: BehaviourConfig) -> Agent:
    """A shared `Agent` per (task, config): its jitted functions compile once per process
    (building the noise levels and runs of a task reuses them; it holds no state)."""
    return compile_cache.cached(("behaviour_agent", task, config), lambda: Agent(task, config))


def explore(uniforms, epsilon: float, greedy: int, num_actions: int) -> int:
    """Epsilon-greedy choice from one row of `Agent.exploration` uniforms."""
    if uniforms[0] < epsilon:
        return min(int(uniforms[1] * num_actions), num_actions - 1)
    return greedy

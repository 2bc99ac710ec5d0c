"""DQN learner: TrainingState, init and the pure update."""

from __future__ import annotations

import functools

import jax.numpy as jnp

from rl_unplugged.agents import common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.dqn import losses
from rl_unplugged.agents.dqn.config import DQNConfig
from rl_unplugged.specs import TaskSpec

__all__ = ["TrainingState", "make_learner", "loss_fn", "q_values_and_targets", "td_terms"]


def q_values_and_targets(params, target_params, batch: Batch, network):
    """Q(s), Q(s'), Q_target(s') in one forward pass of the online net over [s; s']."""
    both = jnp.concatenate([batch.observation, batch.next_observation])
    values = network.apply(params, both).values
    q, next_q = jnp.split(values, 2)
    next_q_target = network.apply(target_params, batch.next_observation).values
    return q, next_q, next_q_target


def td_terms(params, target_params, state: TrainingState, batch: Batch, network):
    """(loss, metrics, Q(s) of shape (B, A)): the TD loss and the values it computed."""
    q, next_q, next_q_target = q_values_and_targets(params, target_params, batch, network)
    loss, metrics = losses.td_loss(q, batch.action, batch.reward, batch.discount, next_q,
                                   next_q_target, gamma=state.hparams["discount"],
                                   kappa=state.hparams["huber_kappa"])
    return loss, metrics, q


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network):
    del key
    loss, metrics, _ = td_terms(params, target_params, state, batch, network)
    return loss, metrics


def build(name: str, config, task: TaskSpec, loss, q_values, num_atoms: int = 1
          ) -> common.Learner:
    """A value-based learner from its loss (shared by DQN, QR-DQN and CQL)."""
    network = common.make_network(task, config, num_atoms=num_atoms)
    optimizer = common.make_optimizer(config)
    update = functools.partial(common.sgd_update, optimizer=optimizer,
                               loss_fn=functools.partial(loss, network=network))
    init = functools.partial(common.init_state, network=network, optimizer=optimizer, task=task)
    return common.Learner(name=name, config=config, task=task, network=network,
                          init=lambda key, hparams: init(key, hparams=hparams), update=update,
                          q_values=lambda params, obs: q_values(network.apply(params, obs)))


def make_learner(config: DQNConfig, task: TaskSpec) -> common.Learner:
    return build("dqn", config.resolve(task), task, loss_fn, lambda out: out.values)

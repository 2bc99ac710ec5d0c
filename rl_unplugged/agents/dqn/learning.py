"""DQN's loss wiring: double-DQN TD loss over one forward pass of [s; s']."""

from __future__ import annotations

import jax.numpy as jnp

from rl_unplugged.agents import builder, common
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


def td_terms(params, target_params, state: TrainingState, batch: Batch, network, *,
             gamma: float | None = None, kappa: float | None = None):
    """(loss, metrics, Q(s) of shape (B, A)): the TD loss and the values it computed.

    gamma, kappa: fixed values; None reads the traced `state.hparams` entries
    ('discount', 'huber_kappa').
    """
    gamma = state.hparams["discount"] if gamma is None else gamma
    kappa = state.hparams["huber_kappa"] if kappa is None else kappa
    q, next_q, next_q_target = q_values_and_targets(params, target_params, batch, network)
    loss, metrics = losses.td_loss(q, batch.action, batch.reward, batch.discount, next_q,
                                   next_q_target, gamma=gamma, kappa=kappa)
    return loss, metrics, q


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network,
            gamma: float | None = None, kappa: float | None = None):
    """DQN's `common.LossFn` (also the behaviour agent's, with gamma and kappa fixed)."""
    del key
    loss, metrics, _ = td_terms(params, target_params, state, batch, network, gamma=gamma,
                                kappa=kappa)
    return loss, metrics


def make_learner(config: DQNConfig, task: TaskSpec) -> common.Learner:
    return builder.build("dqn", config, task, loss_fn, lambda out: out.values)

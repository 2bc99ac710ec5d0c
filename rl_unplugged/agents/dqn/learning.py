"""DQN's loss wiring: double-DQN TD loss; Q(s') under stop_gradient in its own forward pass."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rl_unplugged.agents import builder, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.dqn import losses
from rl_unplugged.agents.dqn.config import DQNConfig
from rl_unplugged.specs import TaskSpec

__all__ = ["TrainingState", "make_learner", "loss_fn", "q_values_and_targets", "td_terms"]


def q_values_and_targets(params, target_params, batch: Batch, network, *,
                         joint_forward: bool = False):
    """Q(s), Q(s'), Q_target(s'), each (B, A, ...).

    Q(s') only picks the target's action (double DQN), so it has its own forward pass
    under stop_gradient and the backward pass covers the B rows of s alone. One forward
    pass over [s; s'] (`joint_forward=True`) carries zero cotangents for the s' rows
    through the whole backward pass, which made DQN's and CQL's updates 1.1-1.4x slower
    on CPU in most runs (`benchmarks/update_forms.py`, `split` against the anchor). It is
    kept because the behaviour agent's recorded builds were made with it (the values
    agree, the float summation order may not).
    """
    if joint_forward:
        both = jnp.concatenate([batch.observation, batch.next_observation])
        q, next_q = jnp.split(network.apply(params, both).values, 2)
    else:
        q = network.apply(params, batch.observation).values
        next_q = jax.lax.stop_gradient(network.apply(params, batch.next_observation).values)
    next_q_target = network.apply(target_params, batch.next_observation).values
    return q, next_q, next_q_target


def td_terms(params, target_params, state: TrainingState, batch: Batch, network, *,
             gamma: float | None = None, kappa: float | None = None,
             joint_forward: bool = False):
    """(loss, metrics, Q(s) of shape (B, A)): the TD loss and the values it computed.

    gamma, kappa: fixed values; None reads the traced `state.hparams` entries
    ('discount', 'huber_kappa'). joint_forward: see `q_values_and_targets`.
    """
    gamma = state.hparams["discount"] if gamma is None else gamma
    kappa = state.hparams["huber_kappa"] if kappa is None else kappa
    q, next_q, next_q_target = q_values_and_targets(params, target_params, batch, network,
                                                    joint_forward=joint_forward)
    loss, metrics = losses.td_loss(q, batch.action, batch.reward, batch.discount, next_q,
                                   next_q_target, gamma=gamma, kappa=kappa)
    return loss, metrics, q


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network,
            gamma: float | None = None, kappa: float | None = None,
            joint_forward: bool = False):
    """DQN's `common.LossFn` (also the behaviour agent's, with gamma and kappa fixed)."""
    del key
    loss, metrics, _ = td_terms(params, target_params, state, batch, network, gamma=gamma,
                                kappa=kappa, joint_forward=joint_forward)
    return loss, metrics


def make_learner(config: DQNConfig, task: TaskSpec) -> common.Learner:
    return builder.build("dqn", config, task, loss_fn, lambda out: out.values)

"""Continuous BC's wiring: a tanh-Gaussian policy fitted by maximum likelihood."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.bc_gaussian import losses
from rl_unplugged.agents.bc_gaussian.config import BCGaussianConfig
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.specs import TaskSpec

__all__ = ["make_learner"]


def update(state: TrainingState, batch: Batch, *, policy, optimizer, task: TaskSpec):
    action = actor_critic.normalise(batch.action, task)

    def loss_fn(params):
        out = policy.apply(params, batch.observation)
        return losses.bc_loss(out.mean, out.log_std, action)

    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params["policy"])
    state = actor_critic.apply_grads(state, "policy", grads, optimizer)
    return state._replace(step=state.step + 1), {"loss": loss,
                                                 "grad_norm": optax.global_norm(grads), **metrics}


def make_learner(config: BCGaussianConfig, task: TaskSpec) -> common.Learner:
    config = config.resolve(task)
    networks.make_policy_network(task, config.hidden)  # Validates the task (bounds, MLP).
    policy = actor_critic.GaussianPolicyNetwork(torso=networks.make_torso(task, config.hidden),
                                                action_size=task.action.shape[0])
    optimizer = actor_critic.make_optimizer(config)

    def init_params(key):
        return policy.init(key, common.dummy_observation(task))

    def init(key, hparams):
        init_key, state_key = jax.random.split(key)
        return actor_critic.new_state({"policy": init_params(init_key)}, {}, state_key,
                                      optimizer, hparams)

    mean_action = actor_critic.tanh_mean_action(policy)

    def q_values(params, obs):
        # No critic: the log-density of the mean action, (B, 1), stands in for the probes.
        out = policy.apply(params["policy"], obs)
        return actor_critic.log_prob(out.mean, out.log_std, jnp.tanh(out.mean))[:, None]

    step = functools.partial(update, policy=policy, optimizer=optimizer, task=task)
    step = actor_critic.redo_update(
        step, [actor_critic.state_redo_part("policy", policy, init_params)], config)
    return actor_critic.normalising_observations(common.Learner(
        name="bc_gaussian", config=config, task=task, network=policy, init=init, update=step,
        q_values=q_values, act=lambda p, o: actor_critic.denormalise(mean_action(p, o), task),
        represent=lambda p, o: policy.apply(p["policy"], o)))

"""TD3+BC's wiring: twin critics every update; policy and targets every `policy_freq`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.td3_bc import losses
from rl_unplugged.agents.td3_bc.config import TD3BCConfig
from rl_unplugged.specs import TaskSpec

__all__ = ["make_learner"]


def first(stacked):
    """The first of stacked critics' params."""
    return jax.tree.map(lambda x: x[0], stacked)


def update(state: TrainingState, batch: Batch, *, critics: actor_critic.Critics, policy,
           optimizer, task: TaskSpec):
    hp = state.hparams
    key, noise_key = jax.random.split(state.key)
    obs, action = batch.observation, actor_critic.normalise(batch.action, task)

    next_action = policy.apply(state.target_params["policy"], batch.next_observation).actions
    noise = jax.random.normal(noise_key, next_action.shape) * hp["policy_noise"]
    next_action = losses.smoothed_target_action(next_action, noise, hp["noise_clip"])
    next_q = actor_critic.min_over_critics(critics.values(
        state.target_params["critic"], batch.next_observation, next_action))
    target = batch.reward + hp["discount"] * batch.discount * next_q

    def critic_loss(params):
        q = critics.values(params, obs, action)
        return losses.critic_loss(q, target), q

    (c_loss, q), grads = jax.value_and_grad(critic_loss, has_aux=True)(state.params["critic"])
    state = actor_critic.apply_grads(state, "critic", grads, optimizer)

    def policy_step(state):
        q1_params = first(state.params["critic"])

        def policy_loss(params):
            pi = policy.apply(params, obs).actions
            return losses.policy_loss(critics.network.apply(q1_params, obs, pi).values, pi,
                                      action, hp["alpha"])

        (p_loss, metrics), p_grads = jax.value_and_grad(policy_loss, has_aux=True)(
            state.params["policy"])
        state = actor_critic.apply_grads(state, "policy", p_grads, optimizer)
        targets = actor_critic.soft_update(state.target_params, {
            "critic": state.params["critic"], "policy": state.params["policy"]}, hp["tau"])
        return state._replace(target_params=targets), {"policy_loss": p_loss, **metrics}

    def skip(state):
        zero = jnp.zeros((), jnp.float32)
        return state, {"policy_loss": zero, "lambda": zero, "bc_mse": zero}

    step = state.step + 1
    # TD3's delay: the policy and targets move on every `policy_freq`-th update.
    due = step % hp["policy_freq"].astype(jnp.int32) == 0
    state, p_metrics = jax.lax.cond(due, policy_step, skip, state)
    return state._replace(key=key, step=step), {
        "loss": c_loss, "critic_loss": c_loss, "grad_norm": optax.global_norm(grads),
        "q_mean": jnp.mean(q), **p_metrics}


def make_learner(config: TD3BCConfig, task: TaskSpec) -> common.Learner:
    config = config.resolve(task)
    networks.make_policy_network(task, config.hidden)  # Validates the task (bounds, MLP).
    box = actor_critic.unit_box(task)
    policy = networks.make_policy_network(box, config.hidden)
    critics = actor_critic.Critics(networks.make_network(task, config.hidden),
                                   config.num_critics)
    optimizer = actor_critic.make_optimizer(config)

    def init_policy(key):
        return policy.init(key, common.dummy_observation(task))

    def init(key, hparams):
        c_key, p_key, state_key = jax.random.split(key, 3)
        params = {"critic": critics.init(c_key, task), "policy": init_policy(p_key)}
        return actor_critic.new_state(params, dict(params), state_key, optimizer, hparams)

    def mean_action(params, obs):
        return policy.apply(params["policy"], obs).actions

    step = functools.partial(update, critics=critics, policy=policy, optimizer=optimizer,
                             task=task)
    step = actor_critic.redo_update(step, [
        actor_critic.critic_redo_part(critics, task),
        actor_critic.state_redo_part("policy", policy, init_policy)], config)
    fns = actor_critic.evaluation_fns(task, mean_action, critics)
    return actor_critic.normalising_observations(common.Learner(
        name="td3_bc", config=config, task=task, network=critics.network, init=init,
        update=step, **fns))

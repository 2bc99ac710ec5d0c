"""IQL's wiring: value (expectile), policy (AWR), then critics and their targets each update."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.iql import losses
from rl_unplugged.agents.iql.config import IQLConfig
from rl_unplugged.agents.td3_bc.losses import critic_loss as squared_td_loss
from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import TaskSpec

__all__ = ["make_learner"]


def update(state: TrainingState, batch: Batch, *, critics: actor_critic.Critics, value, policy,
           optimizer, task: TaskSpec, log_prob, reward_scale: float = 1.0):
    hp = state.hparams
    obs, action = batch.observation, actor_critic.normalise(batch.action, task)
    target_q = actor_critic.min_over_critics(critics.values(state.target_params["critic"], obs,
                                                            action))

    def value_loss(params):
        v = value.apply(params, obs).values[:, 0]
        return losses.expectile_loss(target_q - v, hp["expectile"]), v

    (v_loss, v), v_grads = jax.value_and_grad(value_loss, has_aux=True)(state.params["value"])
    state = actor_critic.apply_grads(state, "value", v_grads, optimizer)
    v = value.apply(state.params["value"], obs).values[:, 0]
    weights = losses.awr_weights(target_q - v, hp["beta"], hp["max_weight"])

    def policy_loss(params):
        out = policy.apply(params, obs)
        return losses.awr_policy_loss(log_prob(out.mean, out.log_std, action), weights)

    p_loss, p_grads = jax.value_and_grad(policy_loss)(state.params["policy"])
    state = actor_critic.apply_grads(state, "policy", p_grads, optimizer)

    next_v = value.apply(state.params["value"], batch.next_observation).values[:, 0]
    target = reward_scale * batch.reward + hp["discount"] * batch.discount * next_v

    def critic_loss(params):
        return squared_td_loss(critics.values(params, obs, action), target)

    c_loss, c_grads = jax.value_and_grad(critic_loss)(state.params["critic"])
    state = actor_critic.apply_grads(state, "critic", c_grads, optimizer)
    targets = {"critic": actor_critic.soft_update(state.target_params["critic"],
                                                  state.params["critic"], hp["tau"])}
    return state._replace(target_params=targets, step=state.step + 1), {
        "loss": c_loss, "critic_loss": c_loss, "value_loss": v_loss, "policy_loss": p_loss,
        "grad_norm": optax.global_norm(c_grads), "v_mean": jnp.mean(v),
        "weight_mean": jnp.mean(weights)}


# `IQLConfig.policy` -> (policy network, its log-density of normalised actions).
_POLICIES = {
    "tanh_gaussian": (actor_critic.GaussianPolicyNetwork, actor_critic.log_prob),
    "mean_gaussian": (actor_critic.MeanGaussianPolicyNetwork,
                      actor_critic.mean_gaussian_log_prob),
}


def make_learner(config: IQLConfig, task: TaskSpec) -> common.Learner:
    config = config.resolve(task)
    networks.make_policy_network(task, config.hidden)  # Validates the task (bounds, MLP).
    policy_cls, log_prob = _POLICIES[config.policy]
    policy = policy_cls(torso=networks.make_torso(task, config.hidden),
                        action_size=task.action.shape[0])
    value = networks.HeadNetwork(torso=networks.make_torso(task, config.hidden), num_actions=1)
    critics = actor_critic.Critics(networks.make_network(task, config.hidden),
                                   config.num_critics)
    optimizer = actor_critic.make_optimizer(config)
    obs0 = common.dummy_observation(task)

    def init(key, hparams):
        c_key, v_key, p_key, state_key = jax.random.split(key, 4)
        params = {"critic": critics.init(c_key, task), "value": value.init(v_key, obs0),
                  "policy": policy.init(p_key, obs0)}
        return actor_critic.new_state(params, {"critic": params["critic"]}, state_key,
                                      optimizer, hparams)

    mean_action = actor_critic.tanh_mean_action(policy)

    if config.needs_reward_scale():
        raise ConfigError("iql: normalize_rewards needs reward_scale from the data: "
                          "training.train/fit computes it (Plan.make(data=...)), or set it")
    scale = 1.0 if config.reward_scale is None else config.reward_scale
    step = functools.partial(update, critics=critics, value=value, policy=policy,
                             optimizer=optimizer, task=task, reward_scale=scale,
                             log_prob=log_prob)
    step = actor_critic.redo_update(step, [
        actor_critic.critic_redo_part(critics, task),
        actor_critic.state_redo_part("value", value, lambda k: value.init(k, obs0)),
        actor_critic.state_redo_part("policy", policy, lambda k: policy.init(k, obs0))], config)
    # Q in the environment's reward units: the critics learn Q of the scaled rewards.
    fns = actor_critic.evaluation_fns(task, mean_action, critics,
                                      q_of=None if scale == 1.0 else (lambda q: q / scale))
    return actor_critic.normalising_observations(common.Learner(
        name="iql", config=config, task=task, network=critics.network, init=init,
        update=step, **fns))

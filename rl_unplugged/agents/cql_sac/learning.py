"""CQL(SAC)'s wiring: critics with the CQL penalty, then policy and temperature, then targets."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.cql_sac import losses
from rl_unplugged.agents.cql_sac.config import CQLSACConfig
from rl_unplugged.agents.td3_bc.losses import critic_loss as squared_td_loss
from rl_unplugged.specs import TaskSpec

__all__ = ["make_learner"]

MAX_ALPHA_PRIME = 1e6  # The authors' clip of the Lagrange multiplier.


def update(state: TrainingState, batch: Batch, *, critics: actor_critic.Critics, policy,
           optimizer, task: TaskSpec, config: CQLSACConfig, target_entropy: float):
    hp = state.hparams
    key, next_key, pi_key, uniform_key, new_key = jax.random.split(state.key, 5)
    obs, action = batch.observation, actor_critic.normalise(batch.action, task)
    batch_size, size = action.shape
    n = config.num_samples
    temperature = jnp.exp(state.params["log_alpha"])

    next_out = policy.apply(state.params["policy"], batch.next_observation)
    next_action, next_log_pi = actor_critic.sample(next_out.mean, next_out.log_std, next_key)
    next_q = actor_critic.min_over_critics(critics.values(
        state.target_params["critic"], batch.next_observation, next_action))
    target = losses.soft_td_target(batch.reward, hp["discount"] * batch.discount, next_q,
                                   next_log_pi, temperature)

    # N policy and N uniform actions per state, evaluated in one batch of N * B.
    out = policy.apply(state.params["policy"], obs)
    repeat = lambda x: jnp.broadcast_to(x, (n, *x.shape)).reshape(n * batch_size, *x.shape[1:])
    pi_actions, pi_log_pi = actor_critic.sample(repeat(out.mean), repeat(out.log_std), pi_key)
    pi_actions = jax.lax.stop_gradient(pi_actions)
    uniform = jax.random.uniform(uniform_key, (n * batch_size, size), minval=-1.0, maxval=1.0)
    obs_2n = jnp.concatenate([repeat(obs), repeat(obs)])
    alpha_prime = losses.alpha_prime(state.params.get("log_alpha_prime", 0.0), MAX_ALPHA_PRIME)

    def critic_loss(params):
        q = critics.values(params, obs, action)
        td = squared_td_loss(q, target)
        q_ood = critics.values(params, obs_2n, jnp.concatenate([uniform, pi_actions]))
        q_ood = q_ood.reshape(q.shape[0], 2, n, batch_size)
        penalty = losses.cql_penalty(q_ood[:, 0], q_ood[:, 1], pi_log_pi.reshape(n, batch_size),
                                     q, size)
        weighted = hp["alpha"] * penalty
        if config.lagrange:
            weighted = jax.lax.stop_gradient(alpha_prime) * (weighted - hp["target_action_gap"])
        return td + jnp.sum(weighted), (td, penalty, q)

    (c_loss, (td, penalty, q)), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(
        state.params["critic"])
    state = actor_critic.apply_grads(state, "critic", c_grads, optimizer)
    metrics = {}
    if config.lagrange:
        prime_grads = jax.grad(losses.alpha_prime_loss)(
            state.params["log_alpha_prime"], penalty, hp["alpha"], hp["target_action_gap"],
            MAX_ALPHA_PRIME)
        state = actor_critic.apply_grads(state, "log_alpha_prime", prime_grads, optimizer)
        metrics["alpha_prime"] = alpha_prime

    def policy_loss(params):
        out = policy.apply(params, obs)
        a, log_pi = actor_critic.sample(out.mean, out.log_std, new_key)
        q_pi = actor_critic.min_over_critics(critics.values(state.params["critic"], obs, a))
        return losses.sac_policy_loss(log_pi, q_pi, temperature), log_pi

    (p_loss, log_pi), p_grads = jax.value_and_grad(policy_loss, has_aux=True)(
        state.params["policy"])
    state = actor_critic.apply_grads(state, "policy", p_grads, optimizer)
    t_grads = jax.grad(losses.temperature_loss)(state.params["log_alpha"], log_pi,
                                                target_entropy)
    state = actor_critic.apply_grads(state, "log_alpha", t_grads, optimizer)
    targets = {"critic": actor_critic.soft_update(state.target_params["critic"],
                                                  state.params["critic"], hp["tau"])}
    return state._replace(target_params=targets, key=key, step=state.step + 1), {
        "loss": c_loss, "td_loss": td, "cql_penalty": jnp.mean(penalty), "policy_loss": p_loss,
        "temperature": temperature, "entropy": -jnp.mean(log_pi),
        "grad_norm": optax.global_norm(c_grads), "q_mean": jnp.mean(q), **metrics}


def make_learner(config: CQLSACConfig, task: TaskSpec) -> common.Learner:
    config = config.resolve(task)
    networks.make_policy_network(task, config.hidden)  # Validates the task (bounds, MLP).
    policy = actor_critic.GaussianPolicyNetwork(torso=networks.make_torso(task, config.hidden),
                                                action_size=task.action.shape[0])
    critics = actor_critic.Critics(networks.make_network(task, config.hidden),
                                   config.num_critics)
    optimizer = actor_critic.make_optimizer(config)
    obs0 = common.dummy_observation(task)
    target_entropy = (-float(task.action.shape[0]) if config.target_entropy is None
                      else config.target_entropy)

    def init(key, hparams):
        c_key, p_key, state_key = jax.random.split(key, 3)
        params = {"critic": critics.init(c_key, task), "policy": policy.init(p_key, obs0),
                  "log_alpha": jnp.log(jnp.asarray(config.initial_temperature, jnp.float32))}
        if config.lagrange:
            params["log_alpha_prime"] = jnp.zeros((), jnp.float32)
        return actor_critic.new_state(params, {"critic": params["critic"]}, state_key,
                                      optimizer, hparams)

    mean_action = actor_critic.tanh_mean_action(policy)

    step = functools.partial(update, critics=critics, policy=policy, optimizer=optimizer,
                             task=task, config=config, target_entropy=target_entropy)
    step = actor_critic.redo_update(step, [
        actor_critic.critic_redo_part(critics, task),
        actor_critic.state_redo_part("policy", policy, lambda k: policy.init(k, obs0))], config)
    fns = actor_critic.evaluation_fns(task, mean_action, critics)
    return actor_critic.normalising_observations(common.Learner(
        name="cql_sac", config=config, task=task, network=critics.network, init=init,
        update=step, **fns))

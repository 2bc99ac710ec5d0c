"""CRR's wiring: the critic (scalar or MoG), then the filtered-regression policy, then targets."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.crr import losses
from rl_unplugged.agents.crr.config import CRRConfig
from rl_unplugged.agents.td3_bc.losses import critic_loss as squared_td_loss
from rl_unplugged.specs import TaskSpec

__all__ = ["make_learner"]


def _repeat(x: jax.Array, m: int) -> jax.Array:
    """(B, ...) -> (m * B, ...): m copies, sample-major."""
    return jnp.broadcast_to(x, (m, *x.shape)).reshape(m * x.shape[0], *x.shape[1:])


def update(state: TrainingState, batch: Batch, *, critics: actor_critic.Critics, policy,
           optimizer, task: TaskSpec, config: CRRConfig):
    hp = state.hparams
    key, next_key, pi_key, z_key = jax.random.split(state.key, 4)
    obs, action = batch.observation, actor_critic.normalise(batch.action, task)
    batch_size, m = action.shape[0], config.num_action_samples
    mog = config.critic == "mog"
    q_of = losses.mixture_mean if mog else (lambda v: v)

    next_out = policy.apply(state.params["policy"], batch.next_observation)
    next_action, _ = actor_critic.sample(_repeat(next_out.mean, m), _repeat(next_out.log_std, m),
                                         next_key)
    next_head = critics.values(state.target_params["critic"],
                               _repeat(batch.next_observation, m), next_action)

    if mog:
        # n target samples per transition, stratified over the m policy actions, shifted
        # and scaled by the Bellman operator. Critic c fits its own target's samples.
        z = losses.mog_target_samples(next_head, m, config.num_target_samples, z_key)
        target = batch.reward + hp["discount"] * batch.discount * z  # (n, C, B)

        def critic_loss(params):
            head = critics.values(params, obs, action)  # (C, B, 3K)
            loss = sum(losses.mog_cross_entropy(head[c], target[:, c])
                       for c in range(head.shape[0]))
            return loss, q_of(head)
    else:
        next_v = jnp.mean(next_head.reshape(next_head.shape[0], m, batch_size), axis=1)
        target = batch.reward + hp["discount"] * batch.discount * jnp.min(next_v, axis=0)

        def critic_loss(params):
            q = critics.values(params, obs, action)
            return squared_td_loss(q, target), q

    (c_loss, q), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(state.params["critic"])
    state = actor_critic.apply_grads(state, "critic", c_grads, optimizer)

    out = policy.apply(state.params["policy"], obs)
    sampled, _ = actor_critic.sample(_repeat(out.mean, m), _repeat(out.log_std, m), pi_key)
    q_now = actor_critic.min_over_critics(q_of(critics.values(state.params["critic"], obs,
                                                             action)))
    q_sampled = actor_critic.min_over_critics(q_of(critics.values(
        state.params["critic"], _repeat(obs, m), sampled))).reshape(m, batch_size)
    adv = losses.advantage(q_now, q_sampled)
    weights = (losses.binary_filter(adv) if config.filter == "binary"
               else losses.exp_filter(adv, hp["beta"], hp["max_weight"]))

    def policy_loss(params):
        out = policy.apply(params, obs)
        return losses.crr_policy_loss(actor_critic.log_prob(out.mean, out.log_std, action),
                                      weights)

    p_loss, p_grads = jax.value_and_grad(policy_loss)(state.params["policy"])
    state = actor_critic.apply_grads(state, "policy", p_grads, optimizer)
    targets = {"critic": actor_critic.soft_update(state.target_params["critic"],
                                                  state.params["critic"], hp["tau"])}
    return state._replace(target_params=targets, key=key, step=state.step + 1), {
        "loss": c_loss, "critic_loss": c_loss, "policy_loss": p_loss,
        "grad_norm": optax.global_norm(c_grads), "q_mean": jnp.mean(q),
        "advantage_mean": jnp.mean(adv), "weight_mean": jnp.mean(weights)}


def make_learner(config: CRRConfig, task: TaskSpec) -> common.Learner:
    config = config.resolve(task)
    networks.make_policy_network(task, config.hidden)  # Validates the task (bounds, MLP).
    policy = actor_critic.GaussianPolicyNetwork(torso=networks.make_torso(task, config.hidden),
                                                action_size=task.action.shape[0])
    mog = config.critic == "mog"
    critics = actor_critic.Critics(networks.make_network(
        task, config.hidden, num_atoms=3 * config.num_components if mog else 1),
        config.num_critics)
    optimizer = actor_critic.make_optimizer(config)
    obs0 = common.dummy_observation(task)

    def init(key, hparams):
        c_key, p_key, state_key = jax.random.split(key, 3)
        params = {"critic": critics.init(c_key, task), "policy": policy.init(p_key, obs0)}
        return actor_critic.new_state(params, {"critic": params["critic"]}, state_key,
                                      optimizer, hparams)

    mean_action = actor_critic.tanh_mean_action(policy)

    step = functools.partial(update, critics=critics, policy=policy, optimizer=optimizer,
                             task=task, config=config)
    step = actor_critic.redo_update(step, [
        actor_critic.critic_redo_part(critics, task),
        actor_critic.state_redo_part("policy", policy, lambda k: policy.init(k, obs0))], config)
    fns = actor_critic.evaluation_fns(task, mean_action, critics,
                                      losses.mixture_mean if mog else None)
    return actor_critic.normalising_observations(common.Learner(
        name="crr", config=config, task=task, network=critics.network, init=init,
        update=step, **fns))

"""How the continuous learners' updates are wired (which network feeds which loss).

The losses are checked against hand-computed values in `test_continuous_losses.py`;
these tests change one network's parameters and check which updated parts follow,
so they fail if an update reads the wrong network (the papers' choices), and rebuild
CQL's and CRR's sampled-action rows by hand, so they fail if a sample is paired with
another state. Each was checked to fail under such a mutation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged import agents
from rl_unplugged.agents import Batch
from tests.agents.continuous_helpers import continuous_task, continuous_transitions

TINY = {"hidden": (16, 16), "batch_size": 8}


def _batch(task):
    data = continuous_transitions(task, 8)
    return Batch(*(jnp.asarray(x) for x in (data.observation, data.action, data.reward,
                                           data.discount, data.next_observation)))


def _perturb_critic(params, index=None):
    """Stacked critics' params with critic `index` (all when None) moved."""
    def move(x):
        moved = x + 0.5 * jnp.sign(x + 1e-3)
        return moved if index is None else x.at[index].set(moved[index])
    return jax.tree.map(move, params)


def _same(a, b):
    return all(np.allclose(x, y, rtol=1e-6, atol=1e-7)
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _learner_state(name, task, **config):
    learner = agents.make_learner(name, task, agents.make_config(name, **TINY, **config))
    return learner, learner.init(jax.random.PRNGKey(0), learner.config.traced())


def test_td3_bc_actor_follows_the_first_critic_only_and_waits_policy_freq_updates():
    task = continuous_task()
    batch = _batch(task)
    learner, state = _learner_state("td3_bc", task, policy_freq=1,
                                    normalize_observations=False)
    update = jax.jit(learner.update)
    other = state._replace(params={**state.params, "critic": _perturb_critic(
        state.params["critic"], index=1)})
    a, _ = update(state, batch)
    b, _ = update(other, batch)
    assert not _same(a.params["critic"], b.params["critic"])  # The second critic differs,
    assert _same(a.params["policy"], b.params["policy"])  # but the actor reads Q1 only.
    first = state._replace(params={**state.params, "critic": _perturb_critic(
        state.params["critic"], index=0)})
    c, _ = update(first, batch)
    assert not _same(a.params["policy"], c.params["policy"])  # Q1 matters.
    # The delay: with policy_freq 2 the first update moves neither actor nor targets.
    learner, state = _learner_state("td3_bc", task, normalize_observations=False)
    update = jax.jit(learner.update)
    one, _ = update(state, batch)
    assert _same(one.params["policy"], state.params["policy"])
    assert _same(one.target_params, state.target_params)
    assert not _same(one.params["critic"], state.params["critic"])
    two, _ = update(one, batch)
    assert not _same(two.params["policy"], one.params["policy"])
    assert not _same(two.target_params, one.target_params)


@pytest.mark.parametrize("policy", ["tanh_gaussian", "mean_gaussian"])
def test_iql_value_and_policy_read_the_target_critics_not_the_online_ones(policy):
    task = continuous_task()
    batch = _batch(task)
    learner, state = _learner_state("iql", task, policy=policy)
    update = jax.jit(learner.update)
    a, _ = update(state, batch)
    online = state._replace(params={**state.params, "critic": _perturb_critic(
        state.params["critic"])})
    b, _ = update(online, batch)
    assert _same(a.params["value"], b.params["value"])
    assert _same(a.params["policy"], b.params["policy"])
    target = state._replace(target_params={"critic": _perturb_critic(
        state.target_params["critic"])})
    c, _ = update(target, batch)
    assert not _same(a.params["value"], c.params["value"])
    assert not _same(a.params["policy"], c.params["policy"])
    # The critics' target is r + gamma d V(s') from the just-updated V, so the target
    # critics reach the critics only through V.
    assert not _same(a.params["critic"], c.params["critic"])


# Row pairing: CQL(SAC) and CRR evaluate m (or N) sampled actions per state in one batch of
# m * B rows. These references rebuild those rows independently (sample-major: row
# j * B + b is sample j of transition b) from the update's own PRNG keys, and loop over
# transitions, so they fail if the update pairs a sample with another state's Q or log pi.


def _networks(learner):
    """The learner's critics, and a policy module built as its `make_learner` builds it
    (the learner exposes only the critic network)."""
    from rl_unplugged import networks
    from rl_unplugged.agents import actor_critic

    task = learner.task
    policy = actor_critic.GaussianPolicyNetwork(
        torso=networks.make_torso(task, TINY["hidden"]), action_size=task.action.shape[0])
    return policy, actor_critic.Critics(learner.network, learner.config.num_critics)


def _tiled(x, m):
    return jnp.tile(x, (m,) + (1,) * (x.ndim - 1))


def test_cql_penalty_pairs_each_sampled_action_with_its_own_state_and_log_pi():
    from jax.scipy.special import logsumexp

    from rl_unplugged.agents import actor_critic

    task, n = continuous_task(), 3
    batch = _batch(task)
    learner, state = _learner_state("cql_sac", task, num_samples=n,
                                    normalize_observations=False)
    _, metrics = jax.jit(learner.update)(state, batch)
    policy, critics = _networks(learner)
    _, _, pi_key, uniform_key, _ = jax.random.split(state.key, 5)
    b_size, size = batch.action.shape
    out = policy.apply(state.params["policy"], batch.observation)
    pi_a, pi_log_pi = actor_critic.sample(_tiled(out.mean, n), _tiled(out.log_std, n), pi_key)
    uniform = jax.random.uniform(uniform_key, (n * b_size, size), minval=-1.0, maxval=1.0)
    params = state.params["critic"]
    per_state = []  # Each (C,): every critic's logsumexp at state b over its own 2n rows.
    for b in range(b_size):
        rows = jnp.arange(n) * b_size + b
        s = jnp.repeat(batch.observation[b:b + 1], n, axis=0)
        terms = jnp.concatenate([critics.values(params, s, uniform[rows]) + size * jnp.log(2.0),
                                 critics.values(params, s, pi_a[rows]) - pi_log_pi[rows]],
                                axis=1)
        per_state.append(logsumexp(terms, axis=1))
    q_data = critics.values(params, batch.observation, actor_critic.normalise(batch.action, task))
    penalties = jnp.mean(jnp.stack(per_state), axis=0) - jnp.mean(q_data, axis=1)
    np.testing.assert_allclose(metrics["cql_penalty"], np.mean(penalties), rtol=1e-5, atol=1e-5)


def test_crr_target_and_advantage_average_each_states_own_sampled_actions():
    from rl_unplugged.agents import actor_critic

    task, m, beta = continuous_task(), 3, 0.3
    batch = _batch(task)
    learner, state = _learner_state("crr", task, num_action_samples=m, num_critics=2,
                                    filter="exp", beta=beta, normalize_observations=False)
    new, metrics = jax.jit(learner.update)(state, batch)
    policy, critics = _networks(learner)
    _, next_key, pi_key, _ = jax.random.split(state.key, 4)
    b_size = batch.action.shape[0]
    action = actor_critic.normalise(batch.action, task)

    def per_state_mean(params, obs, means, log_stds, key):
        """min over critics of mean_j Q(s_b, a_jb), looping over transitions b."""
        a, _ = actor_critic.sample(_tiled(means, m), _tiled(log_stds, m), key)
        q = critics.values(params, _tiled(obs, m), a)  # (C, m * B), rows j * B + b.
        return jnp.stack([jnp.min(jnp.mean(q[:, b::b_size], axis=1)) for b in range(b_size)])

    next_out = policy.apply(state.params["policy"], batch.next_observation)
    next_v = per_state_mean(state.target_params["critic"], batch.next_observation,
                            next_out.mean, next_out.log_std, next_key)
    target = batch.reward + learner.config.discount * batch.discount * next_v
    q = critics.values(state.params["critic"], batch.observation, action)
    np.testing.assert_allclose(metrics["critic_loss"],
                               np.sum(np.mean((q - target) ** 2, axis=-1)), rtol=1e-5)
    # The advantage reads the updated critic at the pre-update policy's samples; the exp
    # filter is nonlinear, so its mean weight depends on the pairing.
    out = policy.apply(state.params["policy"], batch.observation)
    critic = new.params["critic"]
    a, _ = actor_critic.sample(_tiled(out.mean, m), _tiled(out.log_std, m), pi_key)
    q_sampled = critics.values(critic, _tiled(batch.observation, m), a)  # Rows j * B + b.
    # Here the minimum over critics comes per action, then the mean over the m actions.
    sampled = jnp.stack([jnp.mean(jnp.min(q_sampled[:, b::b_size], axis=0))
                         for b in range(b_size)])
    adv = jnp.min(critics.values(critic, batch.observation, action), axis=0) - sampled
    np.testing.assert_allclose(metrics["weight_mean"],
                               np.mean(np.minimum(np.exp(adv / beta), 20.0)), rtol=1e-5)

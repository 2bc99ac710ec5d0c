"""How the continuous learners' updates are wired (which network feeds which loss).

The losses are checked against hand-computed values in `test_continuous_losses.py`;
these tests change one network's parameters and check which updated parts follow,
so they fail if an update reads the wrong network (the papers' choices).
"""

import jax
import jax.numpy as jnp
import numpy as np

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


def test_iql_value_and_policy_read_the_target_critics_not_the_online_ones():
    task = continuous_task()
    batch = _batch(task)
    learner, state = _learner_state("iql", task)
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

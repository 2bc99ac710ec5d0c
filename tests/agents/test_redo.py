"""ReDo: dormant units are recycled (incoming re-initialised, outgoing and Adam moments
zeroed) and the dormant fraction falls."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from rl_unplugged import agents, networks, probes, registry
from rl_unplugged.agents import Batch, common, redo
from tests.training.helpers import random_transitions

CARTPOLE = registry.get_task("classic/cartpole")
BREAKOUT = registry.get_task("minatar/breakout")


def kill(params, path, units):
    """Units whose bias is -100 never fire (ReLU), whatever the input: dormant for any tau."""
    layer = redo._get(params, path)
    return redo._set(params, path, {**layer, "bias": layer["bias"].at[units].set(-100.0)})


def dormant(network, params, obs, tau=0.1):
    acts = network.apply(params, obs).activations
    return [float(probes.dormant_fraction(a, tau)) for a in acts]


def test_recycle_revives_killed_mlp_units_and_resets_their_weights():
    network = networks.make_network(CARTPOLE, (8, 8))
    params = network.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))
    chain = redo.layer_chain(params)
    assert chain == [("params", "torso", "Dense_0"), ("params", "torso", "Dense_1"),
                     ("params", "Dense_0")]
    params = kill(params, chain[0], jnp.arange(4))
    obs = jax.random.normal(jax.random.PRNGKey(1), (64, 4))
    before = dormant(network, params, obs)
    assert before[0] >= 0.5
    moments = [jax.tree.map(jnp.ones_like, params)] * 2
    fresh = network.init(jax.random.PRNGKey(2), jnp.zeros((1, 4)))
    new, new_moments = redo.recycle(params, moments, fresh,
                                    network.apply(params, obs).activations, 0.1)
    after = dormant(network, new, obs)
    assert after[0] < before[0] and after[0] <= 0.25
    layer0, fresh0 = redo._get(new, chain[0]), redo._get(fresh, chain[0])
    np.testing.assert_array_equal(layer0["kernel"][:, :4], fresh0["kernel"][:, :4])
    np.testing.assert_array_equal(layer0["bias"][:4], fresh0["bias"][:4])
    np.testing.assert_array_equal(layer0["kernel"][:, 4:],
                                  redo._get(params, chain[0])["kernel"][:, 4:])
    np.testing.assert_array_equal(redo._get(new, chain[1])["kernel"][:4], 0.0)  # Outgoing.
    for m in new_moments:
        np.testing.assert_array_equal(redo._get(m, chain[0])["kernel"][:, :4], 0.0)
        np.testing.assert_array_equal(redo._get(m, chain[1])["kernel"][:4], 0.0)
        np.testing.assert_array_equal(redo._get(m, chain[0])["kernel"][:, 4:], 1.0)


def test_conv_channels_are_the_neurons():
    network = networks.make_network(BREAKOUT, (8,))
    obs = jax.random.bernoulli(jax.random.PRNGKey(1), 0.3, (16, *BREAKOUT.observation.shape))
    params = network.init(jax.random.PRNGKey(0), obs[:1])
    chain = redo.layer_chain(params)
    assert chain[0] == ("params", "torso", "Conv_0")
    params = kill(params, chain[0], jnp.array([0, 5]))
    acts = network.apply(params, obs).activations
    masks = redo.dormant_masks(params, acts, 0.1)
    assert masks[0].shape == (16,) and bool(masks[0][0]) and bool(masks[0][5])
    fresh = network.init(jax.random.PRNGKey(2), obs[:1])
    new, _ = redo.recycle(params, [], fresh, acts, 0.1)
    dense = redo._get(new, chain[1])["kernel"].reshape(-1, 16, 8)  # (positions, channels, out)
    np.testing.assert_array_equal(dense[:, 0], 0.0)
    np.testing.assert_array_equal(dense[:, 5], 0.0)
    assert np.abs(np.asarray(dense[:, 1])).sum() > 0
    after = redo.unit_scores(network.apply(new, obs).activations[0], 16)
    assert float(after[0]) > 0.1 and float(after[5]) > 0.1


def test_a_learner_with_redo_recycles_inside_its_update():
    config = agents.make_config("dqn", hidden=(16, 16), batch_size=32, redo_every=1)
    learner = agents.make_learner("dqn", CARTPOLE, config)
    data = random_transitions(CARTPOLE, 64)
    batch = Batch(*(jnp.asarray(x[:32]) for x in (data.observation, data.action, data.reward,
                                                  data.discount, data.next_observation)))
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    path = redo.layer_chain(state.params)[1]
    state = state._replace(params=kill(state.params, path, jnp.arange(8)))
    before = dormant(learner.network, state.params, batch.observation)[1]
    new, _ = jax.jit(learner.update)(state, batch)
    after = dormant(learner.network, new.params, batch.observation)[1]
    assert before >= 0.5 and after < before
    mu, nu = redo.adam_moments(new.opt_state)
    np.testing.assert_array_equal(redo._get(nu, path)["bias"][:8], 0.0)
    # Without ReDo the killed units stay dead.
    plain = agents.make_learner("dqn", CARTPOLE, dataclasses.replace(config, redo_every=0))
    new, _ = jax.jit(plain.update)(state, batch)
    assert dormant(plain.network, new.params, batch.observation)[1] >= 0.5


def test_continuous_learner_recycles_its_stacked_critics():
    from tests.agents.continuous_helpers import continuous_task, continuous_transitions

    task = continuous_task()
    config = agents.make_config("td3_bc", hidden=(16, 16), batch_size=32, redo_every=1,
                                normalize_observations=False)
    learner = agents.make_learner("td3_bc", task, config)
    data = continuous_transitions(task)
    batch = Batch(*(jnp.asarray(x[:32]) for x in (data.observation, data.action, data.reward,
                                                  data.discount, data.next_observation)))
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    critic = state.params["critic"]
    path = redo.layer_chain(critic)[0]
    layer = redo._get(critic, path)
    critic = redo._set(critic, path, {**layer, "bias": layer["bias"].at[:, :8].set(-100.0)})
    state = state._replace(params={**state.params, "critic": critic})
    action = (batch.action / 2.0)

    def dormant_critics(params):
        return [float(probes.dormant_fraction(learner.network.apply(
            jax.tree.map(lambda x, i=i: x[i], params), batch.observation, action
        ).activations[0], 0.1)) for i in range(2)]

    assert min(dormant_critics(state.params["critic"])) >= 0.5
    new, _ = jax.jit(learner.update)(state, batch)
    assert max(dormant_critics(new.params["critic"])) < 0.5


def test_redo_is_off_by_default_and_validated():
    assert common.LearnerConfig().redo_every == 0
    for name in agents.AGENTS:
        assert "redo_every" in agents.get_agent(name).fields()

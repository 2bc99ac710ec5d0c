import dataclasses

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import pytest

from rl_unplugged import networks, registry
from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import BehaviourConfig
from tests.envs.helpers import continuous_task


def test_networks_return_values_and_representation():
    for task_id, hidden in (("bsuite/catch", (8, 6)), ("minatar/breakout", (5,))):
        task = registry.get_task(task_id)
        net = networks.make_network(task, hidden, num_atoms=3)
        obs = jnp.zeros((2, *task.observation.shape), task.observation.dtype)
        params = net.init(jax.random.PRNGKey(0), obs)
        out = net.apply(params, obs)
        assert out.values.shape == (2, task.num_actions, 3)
        assert out.representation.shape == (2, hidden[-1])
        assert out.activations[-1] is not None and len(out.activations) >= len(hidden)


def test_discrete_param_tree_is_unchanged():
    # Checkpoints and learners' saved params rely on this exact tree (HeadNetwork).
    task = registry.get_task("bsuite/catch")
    net = networks.make_network(task, (8, 6), num_atoms=3)
    assert isinstance(net, networks.HeadNetwork)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 10, 5)))
    shapes = jax.tree_util.tree_map(lambda x: x.shape, params)
    assert shapes == {"params": {
        "torso": {"Dense_0": {"kernel": (50, 8), "bias": (8,)},
                  "Dense_1": {"kernel": (8, 6), "bias": (6,)}},
        "Dense_0": {"kernel": (6, 9), "bias": (9,)}}}


def _continuous(minimum=(-2.0, 0.0), maximum=(2.0, 0.1)):
    return continuous_task("classic", "c", "unused", 3, minimum, maximum, 10)


def test_critic_values_representation_and_action_dependence():
    task = _continuous()
    obs = jnp.arange(12, dtype=jnp.float32).reshape(4, 3)
    action = jnp.zeros((4, 2))
    for num_atoms, shape in ((1, (4,)), (5, (4, 5))):
        critic = networks.make_network(task, (8, 6), num_atoms=num_atoms)
        assert isinstance(critic, networks.CriticNetwork)
        params = critic.init(jax.random.PRNGKey(0), obs, action)
        out = critic.apply(params, obs, action)
        assert out.values.shape == shape
        assert out.representation.shape == (4, 6)
        assert [a.shape for a in out.activations] == [(4, 8), (4, 6)]
        # The action is an input: the first layer sees obs (3) + action (2) values.
        assert params["params"]["MLPTorso_0"]["Dense_0"]["kernel"].shape == (5, 8)
        other = critic.apply(params, obs, jnp.ones((4, 2)))
        assert not jnp.allclose(out.values, other.values)


def test_policy_actions_stay_in_bounds():
    task = _continuous()
    policy = networks.make_policy_network(task, (8,))
    obs = jnp.linspace(-1.0, 1.0, 15).reshape(5, 3)
    params = policy.init(jax.random.PRNGKey(1), obs)
    out = policy.apply(params, obs)
    assert out.actions.shape == (5, 2) and out.actions.dtype == jnp.float32
    assert out.representation.shape == (5, 8) and len(out.activations) == 1
    low, high = jnp.asarray([-2.0, 0.0], jnp.float32), jnp.asarray([2.0, 0.1], jnp.float32)
    for scale in (1.0, 1e6, -1e6):  # Huge inputs saturate tanh at the bounds.
        actions = policy.apply(params, obs * scale).actions
        assert bool(jnp.all(actions >= low)) and bool(jnp.all(actions <= high))


def test_squash_is_tanh_then_affine():
    lo, hi = (-2.0, 0.0), (2.0, 0.1)
    x = jnp.asarray([[0.0, 0.0], [0.5, -0.5], [50.0, -50.0]])
    expected = jnp.asarray([[0.0, 0.05],
                            [2.0 * jnp.tanh(0.5), 0.05 * (1.0 - jnp.tanh(0.5))],
                            [2.0, 0.0]])
    assert jnp.allclose(networks.squash(x, lo, hi), expected, atol=1e-6)
    # The upper bound 0.1 is not a float32 number; the squashed action never exceeds it.
    assert float(networks.squash(jnp.asarray([[0.0, 50.0]]), lo, hi)[0, 1]) <= jnp.float32(0.1)


def test_network_factory_refuses_mismatched_kinds():
    with pytest.raises(ConfigError, match="discrete"):
        networks.make_policy_network(registry.get_task("bsuite/catch"), (4,))
    with pytest.raises(ConfigError, match="mlp"):
        networks.make_network(dataclasses.replace(_continuous(), network="cnn"), (4,))
    with pytest.raises(ConfigError, match="finite"):
        networks.make_policy_network(_continuous((-float("inf"), 0.0), (2.0, 1.0)), (4,))


def test_nature_cnn_is_mnih_et_al_2015_on_uint8_frame_stacks():
    task = registry.get_task("atari/pong")
    net = networks.make_network(task, (512,))
    assert isinstance(net.torso, networks.NatureCNNTorso)
    frames = jax.random.randint(jax.random.PRNGKey(1), (2, 84, 84, 4), 0, 256).astype(jnp.uint8)
    params = net.init(jax.random.PRNGKey(0), frames)
    shapes = jax.tree_util.tree_map(lambda x: x.shape, params)["params"]
    # conv 32 8x8/4 -> 20x20, 64 4x4/2 -> 9x9, 64 3x3/1 -> 7x7; 7 * 7 * 64 = 3136 -> 512.
    assert shapes["torso"] == {"Conv_0": {"kernel": (8, 8, 4, 32), "bias": (32,)},
                               "Conv_1": {"kernel": (4, 4, 32, 64), "bias": (64,)},
                               "Conv_2": {"kernel": (3, 3, 64, 64), "bias": (64,)},
                               "Dense_0": {"kernel": (3136, 512), "bias": (512,)}}
    assert shapes["Dense_0"] == {"kernel": (512, 6), "bias": (6,)}
    out = net.apply(params, frames)
    assert out.values.shape == (2, 6) and out.representation.shape == (2, 512)
    assert [a.shape for a in out.activations] == [(2, 20, 20, 32), (2, 9, 9, 64),
                                                  (2, 7, 7, 64), (2, 512)]
    # Pixels are divided by 255 inside: uint8 frames and their float values agree, and
    # the paper's [0, 1] input scale is what the first conv sees.
    torso = networks.NatureCNNTorso(hidden=(4,))
    tp = torso.init(jax.random.PRNGKey(0), frames)
    rep, acts = torso.apply(tp, frames)
    rep_float, _ = torso.apply(tp, frames.astype(jnp.float32))
    assert jnp.allclose(rep, rep_float)
    conv = tp["params"]["Conv_0"]
    first = jax.lax.conv_general_dilated(
        frames.astype(jnp.float32) / 255.0, conv["kernel"], (4, 4), "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC")) + conv["bias"]
    assert jnp.allclose(acts[0], jax.nn.relu(first), atol=1e-5)


def test_patch_conv_is_nn_conv():
    # Same parameter tree and initial values as nn.Conv (checkpoints made with nn.Conv
    # still load), same outputs, and the same under vmap over ensemble members.
    x = jax.random.uniform(jax.random.PRNGKey(1), (3, 10, 9, 4))
    conv = flax_nn.Conv(5, (3, 2), padding="VALID")
    patch = networks.PatchConv(5, (3, 2))
    p_conv = conv.init(jax.random.PRNGKey(0), x)
    p_patch = patch.init(jax.random.PRNGKey(0), x)
    shapes = jax.tree_util.tree_map(jnp.shape, (p_conv, p_patch))
    assert shapes[0] == shapes[1]
    leaves = zip(jax.tree_util.tree_leaves(p_conv), jax.tree_util.tree_leaves(p_patch),
                 strict=True)
    assert all(jnp.array_equal(a, b) for a, b in leaves)
    params = jax.tree_util.tree_map(lambda k: k + 0.1, p_conv)  # Non-zero bias too.
    expected = conv.apply(params, x)
    assert expected.shape == (3, 8, 8, 5)
    assert jnp.allclose(patch.apply(params, x), expected, atol=1e-5)
    members = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a]), params)
    got = jax.vmap(patch.apply, in_axes=(0, None))(members, x)
    assert jnp.allclose(got[1], conv.apply(jax.tree_util.tree_map(lambda a: 2 * a, params), x),
                        atol=1e-5)
    with pytest.raises(ConfigError, match="at least"):
        patch.init(jax.random.PRNGKey(0), x[:, :2])


def test_behaviour_agents_keep_nn_conv():
    # The recorded MinAtar builds were made with nn.Conv: the behaviour agent and the
    # evaluation of its checkpoints must keep it (PatchConv differs in the last bit).
    from rl_unplugged.generation import behaviour_checkpoints, dqn

    task = registry.get_task("minatar/breakout")
    agent = dqn.Agent(task, BehaviourConfig(num_steps=10, hidden=(8,)))
    assert agent.network.torso.conv == "xla"
    module, _ = behaviour_checkpoints.network_from_generation(
        {"task": {"network": "cnn", "num_actions": 3,
                  "observation": {"shape": [10, 10, 4], "dtype": "uint8"}},
         "behaviour": {"hidden": [8]}})
    assert module.torso.conv == "xla"
    assert networks.make_network(task, (8,)).torso.conv == "patches"
    with pytest.raises(ConfigError, match="conv must be"):
        networks.make_network(task, (8,), conv="cudnn").init(
            jax.random.PRNGKey(0), jnp.zeros((1, 10, 10, 4)))


def test_minatar_param_tree_is_unchanged():
    # MinAtar checkpoints rely on this tree (made when the torso used nn.Conv).
    task = registry.get_task("minatar/breakout")
    net = networks.make_network(task, (128,))
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, *task.observation.shape), jnp.uint8))
    shapes = jax.tree_util.tree_map(lambda x: x.shape, params)
    assert shapes == {"params": {
        "torso": {"Conv_0": {"kernel": (3, 3, 4, 16), "bias": (16,)},
                  "Dense_0": {"kernel": (1024, 128), "bias": (128,)}},
        "Dense_0": {"kernel": (128, 3), "bias": (3,)}}}

"""Probes on matrices with known spectra."""

import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged import probes


def with_spectrum(sigma, rows=100, cols=8, seed=0):
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(rows, rows)))
    v, _ = np.linalg.qr(rng.normal(size=(cols, cols)))
    s = np.zeros((rows, cols))
    s[np.arange(len(sigma)), np.arange(len(sigma))] = sigma
    return jnp.asarray(u @ s @ v.T, jnp.float32)


@pytest.mark.parametrize("sigma,delta,expected", [
    ([4, 3, 2, 1], 0.01, 4),  # Cumulative shares 0.4, 0.7, 0.9, 1.0.
    ([4, 3, 2, 1], 0.15, 3),  # 0.9 >= 0.85 at k = 3 (a count, not an index).
    ([1], 0.01, 1),  # Rank one: srank 1, not 0.
    ([1, 1, 1, 1, 1, 1, 1, 1], 0.01, 8),
])
def test_srank(sigma, delta, expected):
    assert int(probes.srank(with_spectrum(sigma), delta)) == expected


def test_srank_of_zero_matrix_is_zero():
    assert int(probes.srank(jnp.zeros((5, 3)))) == 0


def test_erank():
    np.testing.assert_allclose(probes.erank(with_spectrum([2, 2, 2, 2])), 4.0, rtol=1e-4)
    np.testing.assert_allclose(probes.erank(with_spectrum([3])), 1.0, rtol=1e-5)
    p = np.array([3, 1]) / 4  # exp(H(0.75, 0.25)).
    np.testing.assert_allclose(probes.erank(with_spectrum([3, 1])),
                               np.exp(-(p * np.log(p)).sum()), rtol=1e-4)


def test_feature_rank_counts_normalised_singular_values():
    # rows = 100: sigma / 10 = 1, 0.5, 0.05, 0.005 -> three above 0.01.
    assert int(probes.feature_rank(with_spectrum([10, 5, 0.5, 0.05]))) == 3


def test_dormant_fraction():
    h = jnp.tile(jnp.array([0.0, 0.05, 1.0, 2.95]), (6, 1))  # Unit means; layer mean 1.
    assert float(probes.dormant_fraction(h, 0.0)) == 0.25
    assert float(probes.dormant_fraction(h, 0.025)) == 0.25
    assert float(probes.dormant_fraction(h, 0.1)) == 0.5
    assert float(probes.dormant_fraction(-h, 0.1)) == 0.5  # Magnitudes count.
    assert float(probes.dormant_fraction(jnp.zeros((3, 4)), 0.0)) == 1.0


def test_feature_norm_and_dr3():
    np.testing.assert_allclose(probes.feature_norm(jnp.array([[3.0, 4.0], [0.0, 0.0]])), 2.5)
    phi = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    nxt = jnp.array([[3.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(probes.dr3_coadaptation(phi, nxt), 2.5)


def test_all_probes_names_layers():
    acts = [jnp.ones((4, 3)), jnp.array([[0.0, 1.0]] * 4)]
    out = probes.all_probes(acts[-1], acts[-1], acts)
    assert float(out["dormant_0_layer1"]) == 0.5 and float(out["dormant_0_layer0"]) == 0.0
    np.testing.assert_allclose(out["dormant_0"], 1 / 5)  # One dead unit of five.


def test_dormant_fraction_scores_conv_channels_over_batch_and_positions():
    # (B=2, H=2, W=2, C=3). Channel 0: |h| mean 1; channel 1: dead everywhere; channel 2:
    # alive at one position of one state only, |h| = 16 there -> mean 2. Layer mean 1.
    h = np.zeros((2, 2, 2, 3), np.float32)
    h[..., 0] = -1.0
    h[1, 0, 1, 2] = 16.0
    h = jnp.asarray(h)
    np.testing.assert_allclose(probes.neuron_scores(h), [1.0, 0.0, 2.0])
    assert float(probes.dormant_fraction(h, 0.0)) == pytest.approx(1 / 3)
    # Per position (12 "units"): channel 1's 4 and 3 of channel 2's 4 positions dead.
    assert float(probes.dormant_fraction(h.reshape(2, -1), 0.0)) == pytest.approx(7 / 12)
    # Overall: weighted by neurons (3 channels, 4 dense units), not by 12 + 4 positions.
    dense = jnp.tile(jnp.array([0.0, 1.0, 1.0, 2.0]), (2, 1))
    out = probes.all_probes(dense, dense, [h, dense])
    assert float(out["dormant_0_layer0"]) == pytest.approx(1 / 3)
    assert float(out["dormant_0_layer1"]) == pytest.approx(1 / 4)
    np.testing.assert_allclose(out["dormant_0"], 2 / 7, rtol=1e-6)


def test_fresh_minatar_network_has_no_dormant_channels():
    import jax

    from rl_unplugged import envs, networks, registry

    task = registry.get_task("minatar/breakout")
    env, rng, obs = envs.make(task), np.random.default_rng(0), []
    for episode in range(3):
        obs.append(env.reset(episode))
        while len(obs) < 100 * (episode + 1):
            ts = env.step(int(rng.integers(task.num_actions)))
            obs.append(ts.observation)
            if ts.last:
                break
    batch = jnp.asarray(np.stack(obs))
    net = networks.make_network(task, (128,))
    out = net.apply(net.init(jax.random.PRNGKey(0), batch[:1]), batch)
    conv, dense = out.activations
    assert conv.shape == (len(obs), 8, 8, 16) and dense.shape == (len(obs), 128)
    values = probes.all_probes(out.representation, out.representation, out.activations)
    assert float(values["dormant_0_layer0"]) == 0.0  # No channel is dead at init.
    # Scoring each (position, channel) as a unit called some of them dead.
    assert float(probes.dormant_fraction(conv.reshape(len(obs), -1), 0.0)) > 0.05

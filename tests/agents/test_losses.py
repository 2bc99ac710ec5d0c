"""Hand-computed values of the learners' losses."""

import math

import jax.numpy as jnp
import numpy as np

from rl_unplugged.agents import common
from rl_unplugged.agents.bc import losses as bc_losses
from rl_unplugged.agents.cql import losses as cql_losses
from rl_unplugged.agents.qrdqn import losses as qr_losses
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.transitions import from_steps


def test_cql_penalty_two_actions():
    q = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    action = jnp.array([0, 1])
    # Row 0: log(e^1 + e^2) - 1 = 1 + log(1 + 1/e); row 1: log 2 - 0.
    expected = ((1 + math.log(1 + 1 / math.e)) + math.log(2)) / 2
    np.testing.assert_allclose(cql_losses.cql_penalty(q, action), expected, rtol=1e-6)
    # Taking the argmax action of a very peaked Q gives ~0.
    assert float(cql_losses.cql_penalty(jnp.array([[50.0, 0.0]]), jnp.array([0]))) < 1e-6


def test_double_dqn_target_terminal_and_truncated():
    reward = jnp.array([1.0, 2.0])
    discount = jnp.array([0.0, 1.0])  # A terminal step, then a time-limit truncation.
    next_online = jnp.array([[1.0, 3.0], [5.0, 2.0]])  # argmax: 1, 0.
    next_target = jnp.array([[10.0, 20.0], [30.0, 40.0]])  # Evaluated: 20, 30.
    target = common.double_q_target(reward, discount, 0.9, next_online, next_target)
    np.testing.assert_allclose(target, [1.0, 2.0 + 0.9 * 30.0], rtol=1e-6)


def test_truncation_bootstraps_and_termination_does_not_in_transitions():
    obs = np.arange(4, dtype=np.float32)[:, None]
    for terminated, last_discount in ((True, 0.0), (False, 1.0)):
        ep = Episode.from_rollout(observations=obs, actions=np.zeros(3, int),
                                  rewards=np.ones(3), terminated=terminated,
                                  metadata={"episode_id": 0})
        t = from_steps(ep.steps)
        np.testing.assert_array_equal(t.discount, [1.0, 1.0, last_discount])


def test_huber():
    np.testing.assert_allclose(common.huber(jnp.array([0.5, 2.0, -3.0])), [0.125, 1.5, 2.5])
    np.testing.assert_allclose(common.huber(jnp.array([3.0]), 2.0), [2.0 * (3.0 - 1.0)])


def test_quantile_huber_loss():
    theta = jnp.array([[0.0, 1.0]])  # tau = 0.25, 0.75.
    targets = jnp.array([[0.5, 3.0]])
    # i=0: u = (0.5, 3) >= 0, weight 0.25: (0.125 + 2.5) * 0.25 / 2 = 0.328125.
    # i=1: u = (-0.5, 2): 0.25 * 0.125 and 0.75 * 1.5 -> mean 0.578125. Sum 0.90625.
    np.testing.assert_allclose(qr_losses.quantile_huber_loss(theta, targets, 1.0), [0.90625])
    np.testing.assert_allclose(qr_losses.quantile_midpoints(4), [0.125, 0.375, 0.625, 0.875])


def test_qr_targets_select_by_mean_and_respect_discount():
    next_online = jnp.array([[[0.0, 0.0], [1.0, -0.5]]])  # Means 0, 0.25 -> action 1.
    next_target = jnp.array([[[9.0, 9.0], [2.0, 4.0]]])
    t = qr_losses.quantile_targets(jnp.array([1.0]), jnp.array([1.0]), 0.5, next_online,
                                   next_target)
    np.testing.assert_allclose(t, [[2.0, 3.0]])
    t = qr_losses.quantile_targets(jnp.array([1.0]), jnp.array([0.0]), 0.5, next_online,
                                   next_target)
    np.testing.assert_allclose(t, [[1.0, 1.0]])


def test_bc_loss():
    logits = jnp.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])  # p = (1/4, 3/4).
    loss, metrics = bc_losses.bc_loss(logits, jnp.array([1, 0]))
    np.testing.assert_allclose(loss, (-math.log(0.75) + math.log(4.0)) / 2, rtol=1e-6)
    np.testing.assert_allclose(metrics["accuracy"], 0.5)

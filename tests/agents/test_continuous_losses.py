"""The continuous learners' losses against hand-computed values on tiny arrays."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged.agents import actor_critic
from rl_unplugged.agents.bc_gaussian import losses as bc
from rl_unplugged.agents.cql_sac import losses as cql
from rl_unplugged.agents.crr import losses as crr
from rl_unplugged.agents.iql import losses as iql
from rl_unplugged.agents.td3_bc import losses as td3


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol)


def test_expectile_loss_weights_each_sign():
    # tau = 0.7: u = 1 -> 0.7 * 1; u = -2 -> 0.3 * 4; u = 0.5 -> 0.7 * 0.25; mean of three.
    close(iql.expectile_loss(jnp.array([1.0, -2.0, 0.5]), 0.7), (0.7 + 1.2 + 0.175) / 3)
    # tau = 0.5 is half the mean squared error.
    close(iql.expectile_loss(jnp.array([1.0, -2.0]), 0.5), 0.5 * 5 / 2)


def test_awr_weights_are_clipped_exponentials():
    close(iql.awr_weights(jnp.array([0.0, 1.0, 10.0]), 1.0, 100.0), [1.0, math.e, 100.0])
    close(iql.awr_policy_loss(jnp.array([-1.0, -2.0]), jnp.array([1.0, 3.0])), (1 + 6) / 2)


def test_td3_bc_lambda_on_a_two_sample_batch():
    q = jnp.array([1.0, -3.0])
    close(td3.bc_lambda(q, 2.5), 2.5 / 2.0)  # mean |Q| = 2.
    pi = jnp.array([[0.5], [0.0]])
    a = jnp.zeros((2, 1))
    loss, metrics = td3.policy_loss(q, pi, a, 2.5)
    # -lambda mean Q + mean (pi - a)^2 = -1.25 * -1 + 0.25 / 2.
    close(loss, 1.25 + 0.125)
    close(metrics["lambda"], 1.25)


def test_td3_target_action_smoothing_clips_noise_then_action():
    out = td3.smoothed_target_action(jnp.array([0.9, -0.2]), jnp.array([0.7, -0.1]), 0.5)
    close(out, [1.0, -0.3])  # 0.9 + 0.5 clipped to 1; -0.2 - 0.1.
    close(td3.critic_loss(jnp.array([[1.0, 2.0], [0.0, 2.0]]), jnp.array([0.0, 2.0])),
          0.5 + 0.0)  # Critic 1: (1 + 0) / 2; critic 2: 0.


def test_cql_logsumexp_term_with_known_q():
    # One critic, one state, one uniform and one policy action, A = 1: uniform density 1/2.
    penalty = cql.cql_penalty(jnp.array([[[1.0]]]), jnp.array([[[2.0]]]), jnp.array([[0.5]]),
                              jnp.array([[0.25]]), 1)
    expected = math.log(math.exp(1.0 + math.log(2.0)) + math.exp(2.0 - 0.5)) - 0.25
    close(penalty, [expected])
    # Two states, two actions each: the mean over states of each state's logsumexp.
    qu = jnp.array([[[0.0, 1.0], [0.0, 1.0]]])  # (C=1, N=2, B=2)
    qp = jnp.zeros((1, 2, 2))
    logp = jnp.zeros((2, 2))
    log2 = math.log(2.0)
    s0 = math.log(2 * math.exp(log2) + 2)
    s1 = math.log(2 * math.exp(1 + log2) + 2)
    close(cql.cql_penalty(qu, qp, logp, jnp.zeros((1, 2)), 1), [(s0 + s1) / 2])


def test_sac_policy_and_temperature_losses():
    close(cql.sac_policy_loss(jnp.array([-1.0, 1.0]), jnp.array([2.0, 0.0]), 0.5),
          (0.5 * -1 - 2 + 0.5 * 1 - 0) / 2)
    # -log_temp * mean(log pi + target_entropy) = -0.5 * mean(-2, -4).
    close(cql.temperature_loss(jnp.array(0.5), jnp.array([-1.0, -3.0]), -1.0), 1.5)
    # y = r + d (min Q' - temp log pi'): 1 + 0.9 (3 - 0.5 * -2) = 4.6; 2 + 0 * (...) = 2.
    close(cql.soft_td_target(jnp.array([1.0, 2.0]), jnp.array([0.9, 0.0]),
                             jnp.array([3.0, 5.0]), jnp.array([-2.0, 1.0]), 0.5), [4.6, 2.0])


def test_crr_advantage_and_filters():
    adv = crr.advantage(jnp.array([2.0, 0.0, -1.0]),
                        jnp.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]))
    close(adv, [1.0, 0.0, -1.0])
    close(crr.binary_filter(adv), [1.0, 0.0, 0.0])  # Strictly positive advantages only.
    close(crr.exp_filter(adv, 1.0, 2.0), [2.0, 1.0, math.exp(-1.0)])  # e clipped at 2.
    close(crr.crr_policy_loss(jnp.array([-1.0, -2.0, -3.0]), jnp.array([1.0, 0.0, 0.0])),
          1.0 / 3)


def test_tanh_gaussian_log_prob_has_the_tanh_correction():
    # N(0, 1) pushed through tanh, at a = 0.5: log N(atanh 0.5) - log(1 - 0.25).
    x = math.atanh(0.5)
    expected = -0.5 * x * x - 0.5 * math.log(2 * math.pi) - math.log(0.75)
    close(actor_critic.log_prob(jnp.zeros((1, 1)), jnp.zeros((1, 1)), jnp.array([[0.5]])),
          [expected])
    # Two independent dims add; the BC loss is its negative mean.
    loss, _ = bc.bc_loss(jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[0.5, 0.5]]))
    close(loss, -2 * expected)
    # Dataset actions on the bounds stay finite.
    assert np.isfinite(actor_critic.log_prob(jnp.zeros((1, 1)), jnp.zeros((1, 1)),
                                             jnp.array([[1.0]]))).all()


def test_mean_gaussian_log_prob_is_a_gaussian_around_tanh_mean():
    # IQL's reference policy: N(tanh(m), s^2) in action space, no tanh correction.
    m, log_std, a = 0.4, -0.3, 0.9
    s = math.exp(log_std)
    one = (-0.5 * ((a - math.tanh(m)) / s) ** 2 - math.log(s)
           - 0.5 * math.log(2 * math.pi))
    close(actor_critic.mean_gaussian_log_prob(jnp.full((1, 2), m), jnp.full((1, 2), log_std),
                                              jnp.full((1, 2), a)), [2 * one])
    # At the bounds it stays finite and bounded: no atanh.
    bound = actor_critic.mean_gaussian_log_prob(jnp.zeros((1, 1)), jnp.zeros((1, 1)),
                                                jnp.ones((1, 1)))
    close(bound, [-0.5 - 0.5 * math.log(2 * math.pi)])


def test_mean_gaussian_policy_has_one_state_independent_clipped_log_std():
    import jax

    from rl_unplugged import networks
    from tests.agents.continuous_helpers import continuous_task

    task = continuous_task()
    policy = actor_critic.MeanGaussianPolicyNetwork(
        torso=networks.make_torso(task, (8,)), action_size=task.action.shape[0])
    obs = jax.random.normal(jax.random.PRNGKey(1), (3, *task.observation.shape))
    params = policy.init(jax.random.PRNGKey(0), obs)
    out = policy.apply(params, obs)
    np.testing.assert_array_equal(out.log_std, np.zeros_like(out.log_std))  # Initialised at 0.
    params["params"]["log_std"] = jnp.array([-9.0] + [3.0] * (task.action.shape[0] - 1))
    out = policy.apply(params, obs)
    assert out.log_std.shape == out.mean.shape
    np.testing.assert_array_equal(out.log_std[:, 0], actor_critic.LOG_STD_MIN)
    np.testing.assert_array_equal(out.log_std[:, 1:], actor_critic.LOG_STD_MAX)


def test_sampled_log_prob_matches_the_distribution():
    import jax

    mean, log_std = jnp.array([[0.3, -0.2]]), jnp.array([[-0.5, 0.1]])
    a, logp = actor_critic.sample(mean, log_std, jax.random.PRNGKey(0))
    assert ((-1 < a) & (a < 1)).all()
    close(logp, actor_critic.log_prob(mean, log_std, a), tol=1e-4)


def test_action_normalisation_round_trips():
    from tests.agents.continuous_helpers import continuous_task

    task = continuous_task()  # Actions in [-2, 2].
    a = jnp.array([[-2.0], [0.0], [1.0], [2.0]])
    close(actor_critic.normalise(a, task), [[-1.0], [0.0], [0.5], [1.0]])
    close(actor_critic.denormalise(actor_critic.normalise(a, task), task), np.asarray(a))


def test_mog_mean_and_cross_entropy():
    # Weights (1/4, 3/4) on means (0, 4): Q = 3.
    head = jnp.array([[0.0, math.log(3.0), 0.0, 4.0, 0.0, 0.0]])
    close(crr.mixture_mean(head), [3.0])
    # One component is a Gaussian: the cross-entropy is its mean negative log density.
    sigma = math.log1p(math.e) + crr.MIN_SCALE  # softplus(1) + floor.
    one = jnp.array([[0.0, 1.0, 1.0]])
    z = jnp.array([[1.0], [3.0]])  # n = 2 target samples of one transition.
    nll = [0.5 * ((v - 1) / sigma) ** 2 + math.log(sigma) + 0.5 * math.log(2 * math.pi)
           for v in (1.0, 3.0)]
    close(crr.mog_cross_entropy(one, z), sum(nll) / 2, tol=1e-4)


def test_alpha_prime_loss_and_its_gradient():
    import jax

    from rl_unplugged.agents.cql_sac import losses as cql

    # alpha' = e^0 = 1; alpha 5, tau 10, penalties (3, 5): gaps (5, 15), mean 10.
    penalty = jnp.array([3.0, 5.0])
    close(cql.alpha_prime_loss(0.0, penalty, 5.0, 10.0, 1e6), -10.0)
    # d/d log alpha' of -alpha' * 10 is -alpha' * 10: descent raises alpha'.
    close(jax.grad(cql.alpha_prime_loss)(0.0, penalty, 5.0, 10.0, 1e6), -10.0)
    # Below tau (gaps -5, -9): the gradient's sign flips and alpha' falls.
    close(jax.grad(cql.alpha_prime_loss)(math.log(2.0), jnp.array([1.0, 0.2]), 5.0, 10.0,
                                         1e6), 2.0 * 7.0)
    # Clipped at the maximum: no gradient through the clip; no gradient to the penalty.
    close(jax.grad(cql.alpha_prime_loss)(math.log(4.0), penalty, 5.0, 10.0, 3.0), 0.0)
    close(jax.grad(cql.alpha_prime_loss, argnums=1)(0.0, penalty, 5.0, 10.0, 1e6), [0.0, 0.0])


def test_mog_target_samples_use_every_sampled_action():
    import jax

    # C = 2 critics, m = 3 actions, B = 2 transitions: a one-component mixture at a point
    # (raw scale -30: the floor's 1e-3) whose mean codes critic, action and transition.
    m, b = 3, 2
    loc = np.array([[100 * c + 10 * j + t for j in range(m) for t in range(b)]
                    for c in range(2)], np.float32)  # Row j * B + t, sample-major.
    head = jnp.stack([jnp.zeros_like(loc), jnp.asarray(loc), jnp.full_like(loc, -30.0)], -1)
    z = crr.mog_target_samples(head, m, 6, jax.random.PRNGKey(0))
    assert z.shape == (6, 2, b)
    expect = [[[100 * c + 10 * (i % m) + t for t in range(b)] for c in range(2)]
              for i in range(6)]  # Sample i at action i mod m: two at each.
    close(z, expect, tol=0.01)
    with pytest.raises(ValueError, match="multiples of m = 4"):
        crr.mog_target_samples(head, 4, 8, jax.random.PRNGKey(0))  # 6 rows.
    with pytest.raises(ValueError, match="multiples of m = 3"):
        crr.mog_target_samples(head, m, 7, jax.random.PRNGKey(0))
    from rl_unplugged.agents.crr.config import CRRConfig
    with pytest.raises(ValueError, match="multiple of num_action_samples"):
        CRRConfig(critic="mog", num_action_samples=3, num_target_samples=20)
    CRRConfig(critic="mse", num_action_samples=3, num_target_samples=20)  # Unused there.


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_soft_update_is_polyak(tau):
    close(actor_critic.soft_update(jnp.array([0.0]), jnp.array([2.0]), tau), [2.0 * tau])

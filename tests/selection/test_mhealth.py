"""The SBV paper's mHealth environment (Luckett et al. 2020), its candidates and study."""

import numpy as np
import pytest

from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import Candidate, mhealth, toy_study

TINY = mhealth.MHealthTask(train_trajectories=6, valid_trajectories=2, length=10, burn_in=5,
                           eval_horizon=10)


def test_step_by_hand():
    task = mhealth.MHealthTask()
    s = np.array([[1.0, 2.0], [1.0, 2.0], [1.9, 1.9]])
    nxt, r = mhealth.step(task, s, np.array([1, 0, 1]), np.zeros((3, 2)))
    # a=1: s1' = 0.75 + 0.25*2 = 1.25, s2' = -1.5 + 0.5 = -1; r = 2.5 - 1 - 0.25.
    # a=0: s1' = -0.75 + 0.5 = -0.25, s2' = 1.5 + 0.5 = 2; r = -0.5 + 2 + 0.25.
    # Clipped to [-2, 2]: 0.75*1.9 + 0.25*3.61 = 2.3275 -> 2.
    np.testing.assert_allclose(nxt, [[1.25, -1.0], [-0.25, 2.0], [2.0, -0.5225]])
    np.testing.assert_allclose(r, [1.25, 1.75, 2 * 2.0 - 0.5225 - 0.25])
    # The noise has standard deviation 0.25.
    nxt, _ = mhealth.step(task, np.zeros((1, 2)), np.array([0]), np.ones((1, 2)))
    np.testing.assert_allclose(nxt, [[0.25, 0.25]])


def test_generate_logs_the_uniform_policy():
    data, valid_ids = mhealth.generate(mhealth.MHealthTask(), np.random.default_rng(0))
    assert data.size == 30 * 25 and data.observation.shape == (750, 2)
    np.testing.assert_array_equal(valid_ids, np.arange(24, 30))
    np.testing.assert_array_equal(data.next_observation[:24], data.observation[1:25])
    sign = 2.0 * data.action - 1.0
    np.testing.assert_allclose(data.reward, 2 * data.next_observation[:, 0]
                               + data.next_observation[:, 1] - 0.25 * sign, atol=1e-5)
    assert np.abs(data.observation).max() <= 2.0 and 0.4 < data.action.mean() < 0.6
    with pytest.raises(ConfigError, match="at least 2 training"):
        mhealth.MHealthTask(valid_trajectories=1)


def test_lspi_solves_its_lstdq_fixed_point():
    data, _ = mhealth.generate(TINY, np.random.default_rng(1))
    for lam in (0.0, 1.0):
        q = mhealth.lspi(data, degree=2, lam=lam, gamma=0.9, rng=np.random.default_rng(0))
        phi, phi_n = mhealth.poly(data.observation, 2), mhealth.poly(data.next_observation, 2)
        a = data.action[:, None].astype(float)
        x = np.concatenate([phi, a * phi], 1)
        pi_n = q(data.next_observation).argmax(1)[:, None].astype(float)
        x_n = np.concatenate([phi_n, pi_n * phi_n], 1)
        pen = np.concatenate([[0.0], x[:, 1:].std(0, ddof=1) ** 2])
        pen[phi.shape[1]] = 0.0
        # At convergence: X^T (r + gamma X_n w - X w) / m = lambda P w (`criterion` in R).
        resid = x.T @ (data.reward + 0.9 * x_n @ q.w - x @ q.w) / len(x) - lam * pen * q.w
        np.testing.assert_allclose(resid, 0.0, atol=1e-6)


def test_min_emsbe_beats_other_linear_fits_on_training_emsbe():
    data, _ = mhealth.generate(TINY, np.random.default_rng(2))

    def emsbe(q):
        qs = q(data.observation)[np.arange(data.size), data.action]
        return np.mean((data.reward + 0.9 * q(data.next_observation).max(1) - qs) ** 2)

    best = mhealth.min_emsbe(data, degree=1, gamma=0.9)
    other = mhealth.lspi(data, degree=1, lam=0.0, gamma=0.9, rng=np.random.default_rng(0))
    assert emsbe(best) <= emsbe(other) + 1e-9
    assert emsbe(best) < emsbe(mhealth.LinearQ(1, np.zeros(6)))


def test_true_values_order_a_good_policy_above_random_and_a_bad_one():
    # a = 1 keeps the sign of s1 and a = 0 flips it: choosing a = [s1 > 0] makes
    # s1' = 0.75 |s1| + ..., the rewarded direction (r = 2 s1' + s2' - ...).
    def candidate(name, flip):
        return Candidate(name=name, num_actions=2, observation_shape=(2,),
                         q=lambda s: np.stack([-s[:, 0], s[:, 0]], 1) * (-1 if flip else 1))

    task = mhealth.MHealthTask(eval_horizon=20)
    good, bad = candidate("good", False), candidate("bad", True)
    v = mhealth.true_values(task, [good, bad, good], np.random.default_rng(0), rollouts=300)
    rand = mhealth.random_value(task, np.random.default_rng(0), rollouts=300)
    assert v[0] > rand + 0.2 and rand > v[1] + 0.2
    assert v[0] == v[2]  # Common random numbers.


def test_candidates_follow_the_reference_grid():
    split = mhealth.make_split(TINY, np.random.default_rng(0))
    grid = mhealth.CandidateGrid(lspi_degrees=(1, 3), lspi_lambdas=(0.0,), tree_mtry=(2,),
                                 tree_min_node_size=(5,), tree_iterations=3, trees=3,
                                 emsbe_degrees=(2,))
    cands = mhealth.candidates(split, TINY, 0, grid)
    assert [c.name for c in cands] == ["lspi_deg1_lambda0", "lspi_deg3_lambda0",
                                       "fqi_trees_mtry2_mns5", "min_emsbe_deg2"]
    for c in cands:
        assert c.q_values(split.valid.observation).shape == (split.valid.size, 2)
    default = mhealth.CandidateGrid()
    assert (len(default.lspi_degrees) * len(default.lspi_lambdas) + len(default.tree_mtry)
            * len(default.tree_min_node_size) + len(default.emsbe_degrees)) == 21


def test_study_runs_on_mhealth():
    grid = mhealth.CandidateGrid(lspi_degrees=(1, 2), lspi_lambdas=(0.0, 100.0),
                                 tree_mtry=(1,), tree_min_node_size=(5,), tree_iterations=2,
                                 trees=3, emsbe_degrees=(1,))
    out = toy_study.run(TINY, seeds=2, criteria=("td", "sbv"), grid=grid,
                        sbv_config=toy_study.sbv.SBVConfig(degrees=(1, 2), network=None),
                        rollouts=50, bootstrap_samples=10)
    assert out["task"]["name"] == "mhealth" and out["candidates"] == 6
    for k in ("td", "sbv"):
        assert out["spearman"][k] == pytest.approx(np.nanmean(out["spearman_per_seed"][k]))
        assert out["nan_candidates"][k] == 0

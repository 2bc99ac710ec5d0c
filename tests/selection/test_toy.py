"""The SBV paper's toy environment, its FQI pool and the study over seeds."""

import numpy as np
import pytest

from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import Candidate, sbv, toy, toy_study


def test_generate_follows_the_description():
    task = toy.ToyTask(x=0.6)
    data, valid_ids = toy.generate(task, np.random.default_rng(0))
    assert data.size == 25 * 25 and data.observation.shape == (625, 4)
    np.testing.assert_array_equal(valid_ids, np.arange(20, 25))
    np.testing.assert_array_equal(data.reward, data.next_observation[:, 0])  # reward s1'
    assert set(np.unique(data.action)) == {0, 1} and np.all(data.discount == 1)
    # Within an episode the next state is the following state.
    np.testing.assert_array_equal(data.next_observation[:24], data.observation[1:25])
    # The training and validation trajectories start from N(0, I) states.
    assert abs(data.observation[data.step == 0].mean()) < 0.5


def test_step_is_the_reference_genmodS_transition():
    # genmodS: s1' = sqrt(x) s1 + (a - 0.5) + sqrt(0.75 - x) e1,
    #          sk' = sqrt(4x - 2) sk + sqrt(3 - 4x) ek (k = 2, 3, 4).
    s = np.array([[1.0, 2.0, 3.0, 4.0]])
    x6 = toy.ToyTask(x=0.6)  # sqrt(0.6) = 0.774597, sqrt(0.4) = 0.632456
    np.testing.assert_allclose(toy.step(x6, s, np.array([1]), np.zeros((1, 4))),
                               [[0.774597 + 0.5, 1.264911, 1.897367, 2.529822]], atol=1e-6)
    np.testing.assert_allclose(toy.step(x6, s, np.array([0]), np.zeros((1, 4))),
                               [[0.774597 - 0.5, 1.264911, 1.897367, 2.529822]], atol=1e-6)
    # x = 0.5: s2..s4 are fresh noise (sqrt(3 - 2) = 1), s1 has noise sd 0.5.
    x5 = toy.ToyTask(x=0.5)
    e = np.array([[2.0, -1.0, 0.5, 3.0]])
    np.testing.assert_allclose(toy.step(x5, s, np.array([0]), e),
                               [[0.707107 - 0.5 + 1.0, -1.0, 0.5, 3.0]], atol=1e-6)
    # x = 0.75: s1 is deterministic, s2..s4 have persistence 1 and no noise.
    x75 = toy.ToyTask(x=0.75)
    np.testing.assert_allclose(toy.step(x75, s, np.array([1]), e),
                               [[0.866025 + 0.5, 2.0, 3.0, 4.0]], atol=1e-6)


def test_x_outside_the_papers_range_is_refused():
    with pytest.raises(ConfigError, match=r"x must be in \[0.5, 0.75\]"):
        toy.ToyTask(x=0.9)


def _constant(name, action):
    return Candidate(name=name, num_actions=2, observation_shape=(4,),
                     q=lambda s: np.tile(np.eye(2)[action], (len(s), 1)))


def test_true_values_are_evalBetas_average_reward_per_step():
    # Always a: E s1_{t+1} = c E s1_t + (a - 0.5), c = sqrt(x), E s1_0 = 0, so the t-th
    # reward has mean (a - 0.5) (1 - c^t) / (1 - c); evalBeta averages t = 1..100.
    task = toy.ToyTask(x=0.5)
    c = np.sqrt(0.5)
    expected = 0.5 / (1 - c) * np.mean(1 - c ** np.arange(1, 101))  # 1.6761
    v = toy.true_values(task, [_constant("one", 1), _constant("zero", 0)],
                        np.random.default_rng(0), rollouts=2000)
    np.testing.assert_allclose(v, [expected, -expected], atol=0.03)
    # The behaviour policy's mean action is 0.5: value 0.
    assert abs(toy.random_value(task, np.random.default_rng(0), rollouts=2000)) < 0.03


def test_q_star_matches_the_closed_form():
    # QStar regresses the discounted return of (a_0, then a = 1) on (1, s1_0, a_0):
    # dQ/ds1 = c / (1 - gamma c), dQ/da = 1 / (1 - gamma c), c = sqrt(x).
    task = toy.ToyTask(x=0.6)
    q = toy.fit_q_star(task, np.random.default_rng(0))
    c = np.sqrt(0.6)
    np.testing.assert_allclose(q.coef[1:], [c / (1 - 0.9 * c), 1 / (1 - 0.9 * c)], atol=0.1)
    s = np.zeros((3, 4))
    assert np.all(Candidate(name="q", num_actions=2, observation_shape=(4,),
                            q=q).actions(s) == 1)


def test_monomials_are_arbPolys_columns():
    s = np.array([[2.0, 3.0, 5.0, 7.0]])
    # Degree 2: 4 linear, 4 squares and 6 products.
    np.testing.assert_array_equal(np.sort(toy.monomials(s, 2)[0]),
                                  np.sort([2, 3, 5, 7, 4, 9, 25, 49, 6, 10, 14, 15, 21, 35]))
    # C(4 + d, 4) - 1 columns: 34 at degree 3 (`cubic`), 329 at degree 7.
    assert toy.monomials(s, 3).shape == (1, 34) and toy.monomials(s, 7).shape == (1, 329)


def test_ridge_fqi_one_iteration_is_the_penalised_regression_of_the_reward():
    rng = np.random.default_rng(0)
    data, _ = toy.generate(toy.ToyTask(x=0.6, train_trajectories=4, valid_trajectories=2),
                           rng)
    q = toy.fit_ridge_fqi(data, 1, 0.5, maxiter=1, num_rows=200)
    # theta_1 = (X'X / m + lambda diag(0, var(X_j)))^-1 X' r / m, X = [1, s, a, a s].
    s, a = data.observation.astype(float), data.action.astype(float)[:, None]
    X = np.hstack([np.ones_like(a), s, a, a * s])
    P = np.diag([0.0] + list(X[:, 1:].var(axis=0, ddof=1)))
    theta = np.linalg.solve(X.T @ X / 200 + 0.5 * P, X.T @ data.reward / 200)
    np.testing.assert_allclose(q.theta, theta, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(q(s[:3]), np.stack([X[:3, :5] @ theta[:5],
                                                   X[:3, :5] @ theta[:5] + theta[5]
                                                   + s[:3] @ theta[6:]], 1), rtol=1e-9)


def test_the_reference_grid_has_29_fits():
    points = toy.FQIGrid().points()
    assert len(points) == 29
    assert [(d, lam) for d, lam, _ in points if d == 4] == [(4, 1e-6), (4, 0.1), (4, 3e5)]
    assert len([p for p in points if p[0] == 3]) == 7
    assert {m for d, lam, m in points if d >= 5 and lam == 1e-6} == {50}
    assert {m for d, lam, m in points if not (d >= 5 and lam == 1e-6)} == {300}


def test_fqi_candidates_span_the_grid():
    task = toy.ToyTask()
    split = toy.make_split(task, np.random.default_rng(0))
    grid = toy.FQIGrid(degrees=(1, 2), lambdas=(1.0,))
    cands = toy.fqi_candidates(split, grid, task=task, rng=np.random.default_rng(1))
    assert [c.name for c in cands] == ["fqi_deg1_lambda1", "fqi_deg2_lambda1", "optimal"]
    assert cands[1].q_values(split.valid.observation).shape == (split.valid.size, 2)


def test_study_reports_mean_spearman_per_criterion():
    out = toy_study.run(toy.ToyTask(x=0.6), seeds=2, criteria=("td", "sbv"),
                        grid=toy.FQIGrid(degrees=(1, 2), lambdas=(1e-2, 1e2),
                                                 include_optimal=False),
                        sbv_config=sbv.SBVConfig(degrees=(1, 2), network=None), rollouts=200,
                        bootstrap_samples=20)
    assert set(out["spearman"]) == {"td", "sbv"} and out["candidates"] == 4
    for k in ("td", "sbv"):
        assert -1.0 <= out["spearman"][k] <= 1.0
        assert out["spearman"][k] == pytest.approx(np.mean(out["spearman_per_seed"][k]))
        assert out["nan_candidates"][k] == 0


def test_a_diverged_fit_ranks_last_instead_of_breaking_sbv():
    task = toy.ToyTask()
    split = toy.make_split(task, np.random.default_rng(0))
    good = toy.fqi_candidates(split, toy.FQIGrid(degrees=(1,), lambdas=(1.0,)), task=task,
                              rng=np.random.default_rng(1))
    # A fit that diverged in float64 (|Q| ~ 1e100) is beyond float32.
    huge = Candidate(name="diverged", num_actions=2, observation_shape=(4,),
                     q=lambda s: np.full((len(s), 2), 1e100))
    out = toy_study._sbv_scores(good + [huge], split, sbv.SBVConfig(degrees=(1,), network=None))
    assert np.isnan(out["diverged"].score)
    assert np.isfinite(out["fqi_deg1_lambda1"].score) and np.isfinite(out["optimal"].score)
    np.testing.assert_array_equal(
        toy_study._worst_if_not_finite(np.array([-2.0, np.nan, -5.0, np.inf])),
        [-2.0, -6.0, -5.0, -6.0])
    all_nan = np.array([np.nan, np.nan])
    assert np.isnan(toy_study._worst_if_not_finite(all_nan)).all()

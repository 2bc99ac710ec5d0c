"""rliable aggregates on tiny hand-computed matrices; the bootstrap is seeded, not global."""

import numpy as np
import pytest

from rl_unplugged.evaluation import protocols as P
from rl_unplugged.leaderboard import aggregate

M = np.arange(8.0).reshape(4, 2) / 8  # 4 runs x 2 tasks: 0, 1/8, ..., 7/8.


def test_point_estimates_hand_computed():
    est = aggregate.interval_estimates({"a": M}, rng=np.random.default_rng(0), reps=100)["a"]
    # IQM: drop the lowest and highest 2 of 8 -> mean(2, 3, 4, 5) / 8.
    assert est["IQM"][0] == pytest.approx(3.5 / 8)
    assert est["Mean"][0] == pytest.approx(3.5 / 8)
    assert est["Median"][0] == pytest.approx(3.5 / 8)  # Median of the 2 per-task means.
    assert est["Optimality Gap"][0] == pytest.approx(1 - 3.5 / 8)  # All scores < 1.
    skewed = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [4.0, 1.0]])
    e2 = aggregate.interval_estimates({"s": skewed}, rng=np.random.default_rng(0), reps=50)
    assert e2["s"]["IQM"][0] == pytest.approx(0.25)  # mean(0, 0, 0, 1)
    assert e2["s"]["Mean"][0] == pytest.approx(0.75)
    assert e2["s"]["Optimality Gap"][0] == pytest.approx(5 / 8)


def test_intervals_are_seeded_and_leave_global_rng_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = aggregate.interval_estimates({"a": M}, rng=np.random.default_rng(7), reps=300)
    b = aggregate.interval_estimates({"a": M}, rng=np.random.default_rng(7), reps=300)
    c = aggregate.interval_estimates({"a": M}, rng=np.random.default_rng(8), reps=300)
    assert a == b and a != c
    assert np.array_equal(np.random.get_state()[1], before)
    for point, low, high in a["a"].values():
        assert low <= point <= high


def test_probability_of_improvement_hand_computed():
    x = np.array([[1.0, 2.0], [1.0, 2.0]])
    y = np.array([[0.0, 3.0], [0.0, 3.0]])
    poi = aggregate.probability_of_improvement({"x": x, "y": y}, rng=np.random.default_rng(0),
                                               reps=50)
    # Task 0: x always better (1); task 1: y always better (0) -> mean 0.5.
    assert poi[("x", "y")][0] == pytest.approx(0.5)
    assert poi[("x", "y")][0] + poi[("y", "x")][0] == pytest.approx(1.0)
    ties = aggregate.probability_of_improvement({"x": x, "z": x.copy()},
                                                rng=np.random.default_rng(0), reps=20)
    assert ties[("x", "z")][0] == pytest.approx(0.5)  # Ties count one half.


def test_performance_profile_hand_computed():
    profiles, cis = aggregate.performance_profiles({"a": M}, [0.0, 0.5, 1.0],
                                                   rng=np.random.default_rng(0), reps=50)
    # Fraction of the 8 scores strictly above tau: 7/8, 3/8 (5/8, 6/8, 7/8), 0.
    np.testing.assert_allclose(profiles["a"], [7 / 8, 3 / 8, 0.0])
    assert cis["a"].shape == (2, 3)


def test_score_matrix_normalises_per_run_means():
    p = {"classic/cartpole": P.make_protocol(P.settings("classic/cartpole", num_episodes=2),
                                             {"random": {"value": 10.0},
                                              "expert": {"value": 30.0}})}
    results = {"classic/cartpole": {"runs": [{"returns": [10.0, 20.0]},
                                             {"returns": [30.0, 50.0]}]}}
    np.testing.assert_allclose(aggregate.score_matrix(results, p, ["classic/cartpole"]),
                               [[0.25], [1.5]])

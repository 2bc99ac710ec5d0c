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
    # The transition by hand: a=1 shifts (s1..s4) -> (s2, s3, s4, s1), scaled by x.
    s = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_allclose(toy.step(task, s, np.array([1]), np.zeros((1, 4))),
                               [[1.2, 1.8, 2.4, 0.6]])
    np.testing.assert_allclose(toy.step(task, s, np.array([0]), np.zeros((1, 4))), 0.6 * s)


def test_x_outside_the_papers_range_is_refused():
    with pytest.raises(ConfigError, match=r"x must be in \[0.5, 0.75\]"):
        toy.ToyTask(x=0.9)


def test_true_values_order_a_good_policy_above_a_bad_one():
    task = toy.ToyTask(x=0.7)
    # Greedy on the immediate reward: pick the action bringing the larger coordinate.
    good = Candidate(name="good", num_actions=2, observation_shape=(4,),
                     q=lambda s: np.stack([s[:, 0], s[:, 1]], 1))
    bad = Candidate(name="bad", num_actions=2, observation_shape=(4,),
                    q=lambda s: -np.stack([s[:, 0], s[:, 1]], 1))
    v = toy.true_values(task, [good, bad], np.random.default_rng(0), rollouts=500)
    rand = toy.random_value(task, np.random.default_rng(0), rollouts=500)
    assert v[0] > rand + 0.5 > v[1] + 1.0


def test_fqi_candidates_span_the_grid():
    split = toy.make_split(toy.ToyTask(), np.random.default_rng(0))
    grid = toy.FQIGrid(degrees=(1, 2), alphas=(1.0,), iterations=(2,))
    cands = toy.fqi_candidates(split, grid)
    assert [c.name for c in cands] == ["fqi_deg1_alpha1_iter2", "fqi_deg2_alpha1_iter2"]
    assert cands[1].q_values(split.valid.observation).shape == (split.valid.size, 2)


def test_study_reports_mean_spearman_per_criterion():
    out = toy_study.run(toy.ToyTask(x=0.6), seeds=2, criteria=("td", "sbv"),
                        grid=toy.FQIGrid(degrees=(1, 2), alphas=(1e-2, 1e2), iterations=(3,)),
                        sbv_config=sbv.SBVConfig(degrees=(1, 2), network=None), rollouts=200,
                        bootstrap_samples=20)
    assert set(out["spearman"]) == {"td", "sbv"} and out["candidates"] == 4
    for k in ("td", "sbv"):
        assert -1.0 <= out["spearman"][k] <= 1.0
        assert out["spearman"][k] == pytest.approx(np.mean(out["spearman_per_seed"][k]))
        assert out["nan_candidates"][k] == 0

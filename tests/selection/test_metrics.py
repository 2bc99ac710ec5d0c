"""Selection metrics on hand-computed tiny arrays."""

import numpy as np
import pytest

from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import metrics

TRUE = np.array([0.2, 1.0, 0.5, 0.8])


def test_spearman_by_hand_and_with_nan():
    assert metrics.spearman([1, 4, 2, 3], TRUE) == pytest.approx(1.0)
    assert metrics.spearman([4, 1, 3, 2], TRUE) == pytest.approx(-1.0)
    # Ranks (1, 4, 3, 2) vs (1, 4, 2, 3): d^2 = 2, rho = 1 - 6 * 2 / (4 * 15) = 0.8.
    assert metrics.spearman([1, 4, 3, 2], TRUE) == pytest.approx(0.8)
    # A NaN estimate is dropped: the rest is perfectly ordered.
    assert metrics.spearman([1, 4, np.nan, 3], TRUE) == pytest.approx(1.0)
    assert np.isnan(metrics.spearman([1, 1, 1, 1], TRUE))


def test_regret_at_k_by_hand():
    est = np.array([4.0, 1.0, 3.0, 2.0])  # ranks candidate 0 first (true 0.2)
    assert metrics.regret_at_k(est, TRUE, 1) == pytest.approx((1.0 - 0.2) / 1.0)
    assert metrics.regret_at_k(est, TRUE, 2) == pytest.approx((1.0 - 0.5) / 1.0)
    assert metrics.regret_at_k(est, TRUE, 4) == 0.0
    with pytest.raises(ConfigError, match="normalise"):
        metrics.regret_at_k(est, -TRUE, 1)


def test_normalise_makes_negative_returns_usable():
    raw = np.array([-100.0, -40.0, -20.0])  # random -100, expert 0
    norm = metrics.normalise(raw, -100.0, 0.0)
    np.testing.assert_allclose(norm, [0.0, 0.6, 0.8])
    assert metrics.regret_at_k(np.array([0, 1, 0.5]), norm, 1) == pytest.approx(0.25)
    with pytest.raises(ConfigError):
        metrics.normalise(raw, 0.0, 0.0)


def test_top_k_by_hand():
    est = np.array([4.0, 1.0, 3.0, 2.0])
    got = metrics.top_k(est, TRUE, 3)  # candidates 0, 2, 3: 0.2, 0.5, 0.8
    assert got["mean"] == pytest.approx(0.5) and got["max"] == pytest.approx(0.8)
    assert got["std"] == pytest.approx(np.std([0.2, 0.5, 0.8]))


def test_absolute_error_and_type_errors_by_hand():
    values = np.array([0.3, 0.6, 0.5, 1.0])
    assert metrics.absolute_error(values, TRUE) == pytest.approx((0.1 + 0.4 + 0 + 0.2) / 4)
    # Threshold 0.5: truly safe {1, 2, 3}; said safe {1, 2, 3}: no errors.
    assert metrics.type_errors(values, TRUE, 0.5) == {"type_i": 0.0, "type_ii": 0.0}
    # Threshold 0.7: truly safe {1, 3}, said safe {3}: type I 1/2; unsafe {0, 2}: type II 0.
    assert metrics.type_errors(values, TRUE, 0.7) == {"type_i": 0.5, "type_ii": 0.0}
    # Threshold 0.25: truly unsafe {0}, said safe -> type II 1.
    assert metrics.type_errors(values, TRUE, 0.25)["type_ii"] == 1.0


def test_bootstrap_is_reproducible_and_brackets_the_mean():
    rng = np.random.default_rng(0)
    true = rng.normal(size=20)
    est = true[None] + rng.normal(scale=0.5, size=(8, 20))
    a = metrics.bootstrap(metrics.spearman, est, true, rng=np.random.default_rng(1), samples=200)
    b = metrics.bootstrap(metrics.spearman, est, true, rng=np.random.default_rng(1), samples=200)
    assert a == b
    assert a["low"] <= a["mean"] <= a["high"] and 0.5 < a["mean"] < 1.0
    # A perfect criterion has a degenerate interval at 1.
    perfect = metrics.bootstrap(metrics.spearman, np.tile(true, (3, 1)), true,
                                rng=np.random.default_rng(2), samples=50)
    assert perfect == pytest.approx({"mean": 1.0, "low": 1.0, "high": 1.0})

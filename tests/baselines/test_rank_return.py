"""The rank-return study's statistics (baselines/rank_return/study.py): hand-computed cases."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).parents[2] / "baselines" / "rank_return" / "study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("rank_return_study", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_phase_summary_finds_drop_rise_drop(study):
    steps = np.arange(0, 9_000, 1_000)
    # 20 -> 10 in the first quarter (phase 1), back to 18 (phase 2), down to 5 (phase 3).
    srank = np.array([20, 10, 12, 15, 18, 16, 10, 6, 5], float)
    p = study.phase_summary(steps, srank)
    assert (p["initial"], p["early_min"], p["early_min_step"]) == (20, 10, 1_000)
    assert (p["peak_after"], p["peak_step"], p["final"]) == (18, 4_000, 5)
    assert p["early_drop"] and p["rise"] and p["late_drop"] and p["three_phases"]


def test_phase_summary_flat_curve_has_no_phase(study):
    steps = np.arange(0, 5_000, 1_000)
    p = study.phase_summary(steps, np.array([20, 19, 20, 19, 19], float))  # Within 10%.
    assert not (p["early_drop"] or p["rise"] or p["late_drop"] or p["three_phases"])


def test_phase_summary_monotone_decline_is_early_and_late_drop_only(study):
    steps = np.arange(0, 9_000, 1_000)
    p = study.phase_summary(steps, np.linspace(40, 8, 9))
    # The first quarter's minimum is its last point (step 2000, srank 32): the decline
    # before it is phase 1, after it a later drop, never a rise.
    assert (p["early_min_step"], p["early_min"]) == (2_000, 32)
    assert p["early_drop"] and p["late_drop"] and not p["rise"] and not p["three_phases"]


def test_bootstrap_ci_of_a_perfect_monotone_relation(study):
    x = np.arange(10, dtype=float)
    y = x ** 3  # Spearman 1 in every resample that is not constant.
    from rl_unplugged.selection import metrics
    ci = study.bootstrap_ci(x, y, metrics.spearman, rng=np.random.default_rng(0), samples=200)
    assert ci == pytest.approx({"value": 1.0, "low": 1.0, "high": 1.0, "n": 10})
    pearson = study.bootstrap_ci(x, 2 * x + 1, study.pearson, rng=np.random.default_rng(0),
                                 samples=50)
    assert pearson["value"] == pytest.approx(1.0) and pearson["low"] == pytest.approx(1.0)


def test_pearson_of_a_constant_is_nan_and_finite_drops_it(study):
    assert np.isnan(study.pearson(np.ones(4), np.arange(4.0)))
    assert study.finite({"a": [float("nan"), 1.0, np.float32(2)], "b": np.bool_(True)}) == {
        "a": [None, 1.0, 2.0], "b": True}


def test_diagnostics_seed_agreement_and_means(study):
    members = [{"width": 8, "learning_rate": lr, "alpha": 0.0, "seed": s, "return": r}
               for s, returns in ((0, (1.0, 2.0, 3.0)), (1, (3.0, 2.0, 1.0)))
               for lr, r in zip((1e-4, 1e-3, 1e-2), returns, strict=True)]
    configs = [{"width": 8, "learning_rate": lr, "alpha": 0.0, "return": 2.0,
                "return_min": min(a, b), "return_max": max(a, b),
                "srank_per_width": sr, "dormant_0.025": d}
               for lr, a, b, sr, d in ((1e-4, 1, 3, 0.9, 0.0), (1e-3, 2, 2, 0.5, 0.2),
                                       (1e-2, 3, 1, 0.1, 0.6))]
    d = study.diagnostics(configs, members)
    assert d["seed_agreement_spearman"] == {"0 vs 1": pytest.approx(-1.0)}
    assert d["seed_gap"]["median"] == 2.0
    assert d["return_by_hyperparameter"]["learning_rate"]["0.001"] == {"mean": 2.0,
                                                                       "median": 2.0}
    assert d["srank_per_width_vs_dormant_0.025_spearman"] == pytest.approx(-1.0)

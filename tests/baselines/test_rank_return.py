"""The rank-return study's statistics (baselines/rank_return/study.py): hand-computed cases."""

import json

import numpy as np
import pytest

from tests.helpers import load_script


@pytest.fixture(scope="module")
def study():
    return load_script("baselines/rank_return/study.py", "rank_return_study")


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


def _sweep_output(study, out, seeds: tuple[int, ...], returns: tuple[float, ...],
                  **meta_changes) -> None:
    """A tiny finished study (one width, three learning rates) written to out. Seed s's
    members have final probes i + s + 1, its curves (4, 2, 3) * (s + 1)."""
    meta = {"dataset": "rlu_bsuite/catch_noise0_run0", "task": "bsuite/catch", "agent": "cql",
            "steps": 20, "probe_every": 10, "batch_size": 4, "widths": [8],
            "learning_rates": [1e-4, 1e-3, 1e-2], "alphas": [0.0], "seeds": list(seeds),
            "episodes_per_member": 3, "protocol": {"id": "p", "version": 2}, **meta_changes}
    members = [{"width": 8, "learning_rate": lr, "alpha": 0.0, "seed": seed,
                "final_step": 20, **{p: float(i + seed + 1) for p in study.PROBES},
                "srank_per_width": (i + seed + 1) / 8, "erank_per_width": (i + 1) / 8,
                "return": r} for seed in seeds
               for i, (lr, r) in enumerate(zip(meta["learning_rates"], returns, strict=True))]
    configs = study.configurations(members)
    curve = np.mean([np.array([4.0, 2.0, 3.0]) * (s + 1) for s in seeds], axis=0)
    curves = {c["key"]: {"step": np.array([0.0, 10.0, 20.0]),
                         **{p: curve for p in study.PROBES}} for c in configs}
    out.mkdir()
    study.summarise(out, meta, members, configs, curves, bootstrap=20, max_return=1.0)


def test_pool_averages_disjoint_seeds_of_one_sweep(study, tmp_path):
    _sweep_output(study, tmp_path / "s0", (0,), (0.0, 0.5, 1.0))
    _sweep_output(study, tmp_path / "s12", (1, 2), (0.2, 0.3, 0.4))  # Two seeds at once.
    result = study.pool(tmp_path / "pooled", [tmp_path / "s0", tmp_path / "s12"],
                        bootstrap=20)
    configs = study._read_csv(tmp_path / "pooled" / "configs.csv")
    assert [c["return"] for c in configs] == pytest.approx([0.4 / 3, 1.1 / 3, 1.8 / 3])
    assert [c["srank"] for c in configs] == pytest.approx([2.0, 3.0, 4.0])  # (1+2+3)/3, ...
    assert [c["seeds"] for c in configs] == [3, 3, 3]
    assert result["seeds"] == [0, 1, 2] and result["return_spread"]["configs_at_max"] == 0
    assert result["over_members"]["srank"]["spearman"]["n"] == 9
    # Curves weighted by seeds: seed 0's (4, 2, 3) once, the 2-seed run's mean (10, 5,
    # 7.5) twice: (24, 12, 18) / 3 = (8, 4, 6), the mean over the three seeds.
    curves = json.loads((tmp_path / "pooled" / "curves.json").read_text())
    assert curves["w8_lr0.001_a0"]["srank"] == pytest.approx([8.0, 4.0, 6.0])
    assert study.diagnostics(configs, study._read_csv(tmp_path / "pooled" / "members.csv"))[
        "seed_agreement_spearman"]["0 vs 1"] == pytest.approx(1.0)


def test_pool_refuses_overlapping_seeds_other_sweeps_and_non_outputs(study, tmp_path):
    _sweep_output(study, tmp_path / "a", (0,), (0.0, 0.5, 1.0))
    _sweep_output(study, tmp_path / "b", (0,), (0.2, 0.3, 0.4))
    _sweep_output(study, tmp_path / "c", (1,), (0.2, 0.3, 0.4), steps=40)
    with pytest.raises(ValueError, match="seeds overlap"):
        study.pool(tmp_path / "p1", [tmp_path / "a", tmp_path / "b"], bootstrap=20)
    with pytest.raises(ValueError, match=r"another sweep.*\['steps'\]"):
        study.pool(tmp_path / "p2", [tmp_path / "a", tmp_path / "c"], bootstrap=20)
    with pytest.raises(FileNotFoundError, match="not a study output"):
        study.pool(tmp_path / "p3", [tmp_path / "a", tmp_path / "missing"], bootstrap=20)
    with pytest.raises(ValueError, match="at least two"):
        study.pool(tmp_path / "p4", [tmp_path / "a"], bootstrap=20)
    # An older output without a setting is named, not a bare KeyError.
    old = json.loads((tmp_path / "c" / "correlations.json").read_text())
    del old["batch_size"]
    (tmp_path / "c" / "correlations.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"lacks \['batch_size'\]"):
        study.pool(tmp_path / "p5", [tmp_path / "a", tmp_path / "c"], bootstrap=20)
    assert not any((tmp_path / f"p{i}").exists() for i in range(1, 6))  # None written.
    # From the command line too, and --pool with --plots-only is a usage error.
    with pytest.raises(ValueError, match="seeds overlap"):
        study.main(["--pool", str(tmp_path / "a"), str(tmp_path / "b"),
                    "--out", str(tmp_path / "p6")])
    assert not (tmp_path / "p6").exists()
    with pytest.raises(SystemExit):
        study.main(["--pool", str(tmp_path / "a"), "--plots-only", "--out", str(tmp_path)])

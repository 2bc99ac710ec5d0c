"""benchmarks/generation.py: --behaviour-runs' report arithmetic (the runs replaced by
fixed timings), and --numerics on a tiny build (its timings are not checked, its data
comparison and marks are)."""

import pytest

from rl_unplugged import registry
from tests.helpers import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/generation.py", "generation_bench")


def test_behaviour_runs_estimates_every_noise0_run_from_each_domains_rate(bench, monkeypatch):
    # Each domain's prefix "logs" n steps in n / 100 s (100 steps/s) and bare stepping
    # runs at 1,000 steps/s.
    monkeypatch.setattr(bench, "logged", lambda spec, root: (spec.num_steps / 100.0,
                                                             spec.num_steps))
    monkeypatch.setattr(bench, "bare", lambda spec, act: (spec.num_steps / 1000.0,
                                                          spec.num_steps))
    report = bench.behaviour_runs(run_steps=500)
    built = [t for t in registry.tasks() if t.builds_datasets]
    run0 = sum(t.behaviour.num_steps for t in built) / 100.0
    every = sum(t.num_runs * t.behaviour.num_steps for t in built) / 100.0
    assert report["every_noise0_run0_estimated_s"] == round(run0)
    assert report["every_noise0_run_estimated_s"] == round(every)
    assert report["every_noise0_run_estimated_h"] == round(every / 3600, 2)
    for domain in ("bsuite", "minatar", "control"):
        row = report[domain]
        assert row["transitions"] == 500 and row["behaviour_steps_per_s"] == 100
        assert row["ratio_to_bare"] == 10.0
    assert "atari" not in report  # Atari's data are not built here.


def test_numerics_runs_each_side_in_a_fresh_process_and_compares_their_data(bench):
    report = bench.numerics_cost("rlu_bsuite/catch_noise0_run0", 300)
    assert report["canonical_same_data_on_one_core"]
    # Only the anchor, whose backend started before `generate`, is marked.
    assert report["marked"] == {"canonical": False, "one_core": False, "xla_default": True}
    assert set(report["steps_per_s"]) == {"canonical", "one_core", "xla_default"}
    assert report["canonical_vs_anchor"] > 0

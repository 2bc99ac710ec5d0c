"""The chunk-metrics benchmark's command at a tiny size on CPU (its shape, not its timings)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_run_has_every_form_against_the_suites_chunk():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "chunk_metrics.py"), "--tiny", "--steps",
         "6", "--fused", "2", "--algos", "cql,iql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report["rows"]) == {"cql", "iql"}
    for row in report["rows"].values():
        assert set(row) == {"suite", "summed", "no_metrics", "plain_jax"}
        assert row["suite"]["vs_suite"] == 1.0
        for form in ("suite", "summed", "no_metrics"):
            assert row[form]["updates_per_s"] > 0 and row[form]["fusions"] > 0
        # Dropping the metrics lets XLA remove the work that only fed them.
        assert row["no_metrics"]["fusions"] < row["suite"]["fusions"]


def test_unknown_row_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "chunk_metrics.py"), "--algos", "sac"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
        text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "unknown sac" in proc.stderr

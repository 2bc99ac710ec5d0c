"""The accelerator benchmark's command, run at a tiny size on CPU (not timed: its shape)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_run_has_every_row_and_imports_no_tensorflow():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "learners.py"), "--device", "cpu",
         "--no-d3rlpy", "--steps", "6", "--num", "256", "--ensemble", "2", "--tiny",
         "--algos", "dqn", "--peak-flops", "1e12"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["tensorflow_imported"] is False
    dqn = report["jax"]["dqn"]
    assert dqn["flops_per_update"] > 0 and dqn["updates_per_s"] > 0
    assert dqn["vs_plain_jax"] == dqn["updates_per_s"] / report["plain_jax"]["dqn"][
        "updates_per_s"]
    assert 0 < dqn["fraction_of_peak"] == dqn["updates_per_s"] * dqn["flops_per_update"] / 1e12
    row = report["ensemble"]["cql"]
    assert row["members"] == 2
    assert row["aggregate_updates_per_s"] == 2 * row["updates_per_s_per_member"]
    assert row["flops_per_update"] > 0 and row["fraction_of_matmul_peak"] > 0

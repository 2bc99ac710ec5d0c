"""benchmarks/minatar_conv.py at a tiny size (not timed: its report's shape)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_minatar_conv_reports_both_convolutions_per_ensemble_size():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "minatar_conv.py"), "--members", "1,2",
         "--repeats", "1", "--fused", "2"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report["rows"]) == {"1", "2"}
    for row in report["rows"].values():
        assert row["xla_updates_per_s"] > 0 and row["patches_updates_per_s"] > 0
        ratio = row["patches_updates_per_s"] / row["xla_updates_per_s"]
        assert abs(row["speedup"] - ratio) < 1e-9 * ratio

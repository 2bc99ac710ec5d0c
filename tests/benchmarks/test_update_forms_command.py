"""benchmarks/update_forms.py at a tiny size (not timed: its report's shape)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_update_forms_reports_each_form_against_the_anchor():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "update_forms.py"), "--tiny", "--fused", "2",
         "--repeats", "1", "--algos", "dqn,cql"], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert set(report["rows"]) == {"dqn", "cql"}
    for row in report["rows"].values():
        for form in ("split", "suite"):
            ratio = row[f"{form}_updates_per_s"] / row["anchor_updates_per_s"]
            assert abs(row[f"{form}_vs_anchor"] - ratio) < 1e-9 * ratio

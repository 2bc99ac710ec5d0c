import os
import re
import subprocess
import sys
from pathlib import Path

import rl_unplugged
from rl_unplugged import compat

ROOT = Path(rl_unplugged.__file__).parents[1]


def test_pinned_versions_hold():
    assert compat.check() == []
    assert compat.versions()["rl_unplugged"] == rl_unplugged.__version__


def test_check_reports_a_wrong_major(monkeypatch):
    monkeypatch.setattr(compat, "installed_version",
                        lambda p: {"mujoco": "4.0.0", "pandas": "2.3.3"}.get(p))
    (problem,) = compat.check()
    assert "mujoco 4.0.0" in problem and "flex_vertedge" in problem


def test_dm_control_runs_with_the_pinned_mujoco():
    # The trap itself: dm-control 1.0.50 + mujoco 4 fails at load; run in a clean process.
    code = ("from dm_control import suite; import numpy as np; env = suite.load('cartpole', "
            "'swingup'); ts = env.reset(); ts = env.step(np.zeros(1)); print(ts.reward)")
    env = dict(os.environ, MUJOCO_GL="disable", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    float(out.stdout.strip().splitlines()[-1])


def _readme_commands():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_ci_runs_exactly_the_readme_install_and_test_commands():
    install, _main_job, test = _readme_commands()
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert install in ci and test in ci
    assert ci.index(install) < ci.index(test)

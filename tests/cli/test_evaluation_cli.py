"""`rlu evaluate`, `rlu protocols` and `rlu leaderboard` end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import rl_unplugged
from rl_unplugged.cli import main
from rl_unplugged.evaluation import protocols
from rl_unplugged.leaderboard import board


def push_left(obs):
    """An external policy for `--policy MODULE:ATTR`."""
    return np.zeros(len(obs), np.int64)


def stay(obs):
    """Another external policy (action 1)."""
    return np.ones(len(obs), np.int64)


def test_evaluate_an_external_callable(tmp_path, capsys):
    out = tmp_path / "r.json"
    p = protocols.get_protocol("classic/cartpole")
    assert main(["evaluate", "--task", "classic/cartpole", "--policy",
                 "tests.cli.test_evaluation_cli:push_left", "--num-envs", "8",
                 "--dataset", p.datasets[0] + ":1.0.0", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["protocol"]["hash"] == p.hash and len(result["returns"]) == 100
    assert result["selection"] == {"method": "final", "name": None}
    assert result["datasets"] == {p.datasets[0]: "1.0.0"}
    assert json.loads(capsys.readouterr().out)["episodes"] == 100


def test_bad_input_is_one_line(tmp_path, capsys):
    assert main(["evaluate", "--task", "classic/cartpol", "--policy", "x:y",
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "classic/cartpole" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 3}')
    assert main(["leaderboard", "validate", str(bad)]) == 2
    assert "rlu: error: $" in capsys.readouterr().err


def test_protocols_render_and_list(tmp_path, capsys):
    assert main(["protocols", "render", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "protocols" / "bsuite-catch.md").exists()
    assert json.loads((tmp_path / "schemas" / "submission-v1.json").read_text())
    frozen = json.loads((tmp_path / "protocols" / "protocols.json").read_text())
    assert len(frozen["protocols"]) == len(protocols.all_protocols())
    assert main(["protocols", "list"]) == 0
    assert "bsuite/catch" in capsys.readouterr().out


def test_freeze_reproduces_the_frozen_file(tmp_path):
    out = tmp_path / "protocols.json"
    assert main(["protocols", "freeze", "--out", str(out)]) == 0
    shipped = Path(protocols.__file__).parent / "data" / protocols.PROTOCOLS_FILE
    assert out.read_text() == shipped.read_text()


def test_leaderboard_validate_submit_build_with_frozen_protocols(tmp_path):
    frozen = protocols.all_protocols()
    rng = np.random.default_rng(0)
    runs = {t: [rng.uniform(*frozen[t].feasible_return_range, size=100).tolist()
                for _ in range(3)] for t in ("bsuite/catch", "bsuite/cartpole",
                                             "bsuite/mountain_car")}
    sub = board.submission_template(frozen, "bsuite", "CLI entry", runs)
    path = tmp_path / "s.json"
    path.write_text(board.dumps(sub))
    root = tmp_path / "evaluation"
    assert main(["leaderboard", "validate", str(path)]) == 0
    assert main(["leaderboard", "submit", str(path), "--root", str(root)]) == 0
    assert main(["leaderboard", "build", "--root", str(root), "--reps", "50"]) == 0
    md = (root / "LEADERBOARD.md").read_text()
    assert "CLI entry" in md and "IQM" in md  # bsuite's references are measured.
    # The installed entry point, in a subprocess importing this checkout.
    env = {**os.environ, "PYTHONPATH": str(Path(rl_unplugged.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-m", "rl_unplugged.cli", "leaderboard", "submit",
                           str(path), "--root", str(root)], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "$.name: duplicate entry name" in proc.stderr


def test_policy_module_is_found_in_the_working_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "rlu_cwd_policy.py").write_text(
        "import numpy as np\n\ndef act(obs):\n    return np.zeros(len(obs), np.int64)\n")
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path and "" not in sys.path
    out = tmp_path / "r.json"
    assert main(["evaluate", "--task", "bsuite/catch", "--policy", "rlu_cwd_policy:act",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["policy_source"] == "callable:rlu_cwd_policy:act"
    assert str(tmp_path) not in sys.path  # Only for that import.
    sys.modules.pop("rlu_cwd_policy", None)
    for spec, message in (("rlu_no_such_module:act", "no module named 'rlu_no_such_module'"),
                          ("rlu_cwd_policy:nope", "has no attribute 'nope'"),
                          ("rlu_cwd_policy", "must be MODULE:ATTRIBUTE")):
        assert main(["evaluate", "--task", "bsuite/catch", "--policy", spec,
                     "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 1, err
    sys.modules.pop("rlu_cwd_policy", None)

"""Bad settings and config files given to the CLI: one line naming the field or file."""

from __future__ import annotations

import json

import pytest

from rl_unplugged.data.raw_log import MANIFEST
from tests.reliability import catalogue
from tests.reliability.conftest import TRAIN, assert_rejected, raw_dir, rlu

_BASELINE = {"name": "x", "agent": "bc", "track": "bsuite/catch",
             "datasets": {"bsuite/catch": "rlu_bsuite/catch_noise0_run0"}, "steps": 1}


def _train(*extra):
    def run(root, tmp_path, capsys):
        return rlu(capsys, *TRAIN, "--data-dir", root, "--out", tmp_path / "run", *extra)
    return run


def _baseline(text):
    def run(root, tmp_path, capsys):
        (tmp_path / "b.json").write_text(text)
        return rlu(capsys, "baselines", "run", tmp_path / "b.json", "--out", tmp_path / "out")
    return run


def _board_without_root(root, tmp_path, capsys):
    return rlu(capsys, "leaderboard", "build", "--root", tmp_path / "nonexistent")


def _invalid_submission_on_board(root, tmp_path, capsys):
    (tmp_path / "board" / "submissions").mkdir(parents=True)
    (tmp_path / "board" / "submissions" / "bad.json").write_text('{"name": "x"}')
    return rlu(capsys, "leaderboard", "build", "--root", tmp_path / "board")


def _tiny_build_as_full(root, tmp_path, capsys):
    manifest = raw_dir(root) / MANIFEST  # As `rlu datasets build --num-steps 200` records.
    content = json.loads(manifest.read_text())
    content["generation"]["num_steps"] = 200
    manifest.write_text(json.dumps(content))
    return rlu(capsys, *[a for a in TRAIN], "--data-dir", root, "--out", tmp_path / "run")


def _policy_bad_actions(root, tmp_path, capsys):
    import os
    import sys

    module = f"rlu_float_policy_{os.getpid()}"
    (tmp_path / f"{module}.py").write_text(
        "import numpy as np\n\ndef act(obs):\n    return np.zeros(len(obs), np.float32)\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return rlu(capsys, "evaluate", "--task", "bsuite/catch", "--policy", f"{module}:act",
                   "--out", tmp_path / "out")
    finally:
        os.chdir(cwd)
        sys.modules.pop(module, None)


# id: (run(root, tmp_path, capsys) -> Outcome, what the message must name)
INPUTS = {
    "set-nan": (_train("--set", "learning_rate=nan"), "learning_rate"),
    "set-abc": (_train("--set", "learning_rate=abc"), "learning_rate"),
    "set-negative": (_train("--set", "learning_rate=-1"), "learning_rate"),
    "set-unknown": (_train("--set", "no_such_field=1"), "no_such_field"),
    "grid-inf": (_train("--grid", "learning_rate=1e-3,inf"), "learning_rate"),
    "batch-larger-than-data": (_train("--set", "batch_size=100000"), "batch_size"),
    "board-root-missing": (_board_without_root, "nonexistent"),
    "baseline-missing-keys": (_baseline('{"name": "x"}'), "b.json"),
    "baseline-not-json": (_baseline('{"name": '), "b.json"),
    "baseline-bad-type": (_baseline(json.dumps(dict(_BASELINE, steps="ten"))), "steps"),
    "baseline-bad-agent-config": (
        _baseline(json.dumps(dict(_BASELINE, config={"learning_rate": -1}))), "learning_rate"),
    "baseline-wrong-dataset": (_baseline(json.dumps(dict(
        _BASELINE, datasets={"bsuite/catch": "rlu_classic/cartpole_noise0_run0"}))),
        "datasets.bsuite/catch"),
    "submission-invalid-on-board": (_invalid_submission_on_board, "bad.json"),
    "policy-bad-actions": (_policy_bad_actions, "float32 actions"),
    "tiny-build-as-full": (_tiny_build_as_full, "--num-steps 200"),
}


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_inputs.py::test_bad_input"), ids=str)
def test_bad_input(case, raw_root, tmp_path, capsys):
    run, name = INPUTS[case.id]
    assert_rejected(run(raw_root, tmp_path, capsys), name)
    assert not (tmp_path / "run").exists() and not (tmp_path / "out").exists()

"""Damaged or mismatched run directories, met by `rlu evaluate` and a resumed `rlu train`:
refused in one line naming the file or the mismatch, never evaluated or trained on."""

from __future__ import annotations

import json
import shutil

import pytest

from rl_unplugged import training
from rl_unplugged.data import loader
from tests.helpers import write_random_log
from tests.reliability import catalogue
from tests.reliability.conftest import (
    SPEC,
    TRAIN,
    assert_rejected,
    flip,
    garbage,
    rlu,
    truncate,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data root, run directory): a one-member bc run with checkpoints at 2 and 4."""
    root = tmp_path_factory.mktemp("data")
    write_random_log(SPEC, root)
    data = loader.load_transitions(SPEC, root)
    run = tmp_path_factory.mktemp("runs") / "run"
    training.train("bc", data, SPEC.task, steps=4, config={"hidden": (8,), "batch_size": 8},
                   out_dir=run, dataset=SPEC.name, log_every=2, checkpoint_every=2,
                   probe_every=None, make_plots=False)
    return root, run


def _final(run):
    return run / "checkpoints" / "step_000000004.msgpack"


def _no_task(run):
    config = json.loads((run / "config.json").read_text())
    del config["task"]
    (run / "config.json").write_text(json.dumps(config))


def _delete_checkpoints(run):
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").mkdir()


# id: (damage(run), extra evaluate arguments, what the message must name)
RUN_FAULTS = {
    "checkpoint-flip": (lambda r: flip(_final(r), _final(r).stat().st_size // 2), {},
                        "step_000000004.msgpack"),
    "checkpoint-truncate": (lambda r: truncate(_final(r)), {}, "step_000000004.msgpack"),
    "checkpoint-garbage": (lambda r: garbage(_final(r)), {}, "step_000000004.msgpack"),
    "checkpoint-delete": (_delete_checkpoints, {}, "checkpoints"),
    "config-delete": (lambda r: (r / "config.json").unlink(), {}, "config.json"),
    "config-garbage": (lambda r: garbage(r / "config.json"), {}, "config.json"),
    "config-no-task": (_no_task, {}, "config.json"),
    "run-other-task": (lambda r: None, {"--task": "classic/cartpole"}, "classic/cartpole"),
    "run-member-out-of-range": (lambda r: None, {"--member": "5"}, "member 5"),
}


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_runs.py::test_run_fault"), ids=str)
def test_run_fault(case, trained, tmp_path, capsys):
    root, original = trained
    run = tmp_path / "run"
    shutil.copytree(original, run)
    if case.id == "checkpoint-flip-resume":  # Training resumes from the damaged one.
        flip(_final(run), _final(run).stat().st_size // 2)
        outcome = rlu(capsys, *TRAIN, "--data-dir", root, "--out", run, "--steps", "6",
                      "--checkpoint-every", "2", "--log-every", "2")
        assert_rejected(outcome, "step_000000004.msgpack", "checksum")
        assert not (run / "checkpoints" / "step_000000006.msgpack").exists()
        return
    damage, extra, name = RUN_FAULTS[case.id]
    damage(run)
    args = {"--task": "bsuite/catch", "--member": "0", **extra}
    outcome = rlu(capsys, "evaluate", "--run-dir", run, *(x for kv in args.items() for x in kv),
                  "--out", tmp_path / "result.json")
    assert_rejected(outcome, name)
    assert not (tmp_path / "result.json").exists()

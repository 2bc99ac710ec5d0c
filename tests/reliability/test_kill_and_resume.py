"""A training process killed with SIGKILL mid-run resumes to the very bytes of a run that
was never interrupted (generation's counterpart: tests/generation/test_resume.py)."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import pytest

from tests.helpers import write_random_log
from tests.reliability.conftest import SPEC

REPO = pathlib.Path(__file__).resolve().parents[2]

# Trains 8 updates (chunks of 2, a checkpoint after each); with a kill step, the process
# SIGKILLs itself from inside the loop once that chunk has run, before its checkpoint.
_CHILD = """
import os, signal, sys
from rl_unplugged import registry, training
from rl_unplugged.data import loader

root, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = registry.get_dataset(sys.argv[4])


class Kill:
    def on_start(self, step, states):
        pass

    def on_chunk(self, step, states, metrics):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_end(self, step, states):
        pass


data = loader.load_transitions(spec, root, cache=False)
training.train("bc", data, spec.task, steps=8, config={"hidden": (8,), "batch_size": 8},
               seeds=(0, 1), out_dir=out, dataset=spec.name, log_every=2, checkpoint_every=2,
               probe_every=None, make_plots=False, callbacks=[Kill()])
"""


def _train(root, out, kill_at=0):
    return subprocess.run([sys.executable, "-c", _CHILD, str(root), str(out), str(kill_at),
                           SPEC.name], env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # Three fresh processes importing JAX: well over 20 s.
def test_sigkill_training_then_resume(tmp_path):
    root = tmp_path / "data"
    write_random_log(SPEC, root)
    killed = _train(root, tmp_path / "killed", kill_at=6)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    checkpoints = tmp_path / "killed" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "step_000000002.msgpack", "step_000000004.msgpack"]
    resumed = _train(root, tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    whole = _train(root, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    final = "checkpoints/step_000000008.msgpack"
    assert ((tmp_path / "killed" / final).read_bytes()
            == (tmp_path / "whole" / final).read_bytes())

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rl_unplugged
from rl_unplugged import paths
from rl_unplugged.data.raw_log import read_manifest
from rl_unplugged.generation import generate
from tests.generation.helpers import assert_same_data, tiny_spec

REPO = Path(rl_unplugged.__file__).parents[1]


class Crash(Exception):
    pass


@pytest.mark.parametrize("level", ["replay", "random"])
def test_crash_then_rerun_equals_uninterrupted(tmp_path, level):
    spec = tiny_spec(level, noise=0.1 if level == "replay" else 0.0, num_steps=900)
    done = []

    def crash_after_some_shards(n):
        done.append(n)
        if sum(done) > 500:
            raise Crash

    with pytest.raises(Crash):
        generate(spec, tmp_path / "crashed", progress=crash_after_some_shards,
                 shard_transitions=100)
    manifest = read_manifest(paths.raw_dir(spec, tmp_path / "crashed"))
    assert len(manifest["shards"]) >= 3 and not manifest["complete"]
    resumed_calls = []
    resumed = generate(spec, tmp_path / "crashed", progress=resumed_calls.append,
                       shard_transitions=100)
    assert resumed_calls[0] == manifest["num_transitions"]  # Reports committed work first.
    assert sum(resumed_calls) == resumed.num_transitions
    whole = generate(spec, tmp_path / "whole", shard_transitions=100)
    assert_same_data(resumed, whole)


_CHILD = """
import sys
from rl_unplugged.generation import generate
from tests.generation.helpers import tiny_spec
generate(tiny_spec(noise=0.2, num_steps=4000), sys.argv[1], shard_transitions=200)
"""


def test_sigkill_midway_then_rerun_equals_uninterrupted(tmp_path):
    spec = tiny_spec(noise=0.2, num_steps=4000)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "killed")],
                             env=env, cwd=REPO)
    directory = paths.raw_dir(spec, tmp_path / "killed")
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and child.poll() is None:
            manifest = read_manifest(directory) if (directory / "manifest.json").exists() else None
            if manifest and manifest["num_transitions"] >= 1000:
                break
            time.sleep(0.005)
        assert child.poll() is None, "the child finished before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not read_manifest(directory)["complete"]
    resumed = generate(spec, tmp_path / "killed", shard_transitions=200)
    whole = generate(spec, tmp_path / "whole", shard_transitions=200)
    assert_same_data(resumed, whole)


@pytest.mark.parametrize("level", ["replay", "random"])
def test_crash_while_finalizing_resumes_to_the_same_log(tmp_path, monkeypatch, level):
    from rl_unplugged.data.raw_log import RawLogWriter

    spec = tiny_spec(level, num_steps=300)
    real = RawLogWriter.finalize

    def crash(self, summary=None):
        raise Crash

    monkeypatch.setattr(RawLogWriter, "finalize", crash)
    with pytest.raises(Crash):
        generate(spec, tmp_path / "crashed", shard_transitions=100)
    monkeypatch.setattr(RawLogWriter, "finalize", real)
    resumed = generate(spec, tmp_path / "crashed", shard_transitions=100)
    assert_same_data(resumed, generate(spec, tmp_path / "whole", shard_transitions=100))

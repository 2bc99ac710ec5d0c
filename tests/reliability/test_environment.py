"""The machine gets in the way: another writer holds the log, the data root is read-only,
the disk is full. Refused in one line naming the file, or served without writing."""

from __future__ import annotations

import errno
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from rl_unplugged import paths
from rl_unplugged.data import loader
from rl_unplugged.data import raw_log as raw_log_lib
from tests.reliability import catalogue
from tests.reliability.conftest import (
    SPEC,
    TRAIN,
    assert_rejected,
    assert_warned,
    raw_dir,
    rlu,
)

REPO = pathlib.Path(__file__).resolve().parents[2]

# A second process that holds the log's writer lock until its stdin closes.
_HOLDER = """
import sys
from rl_unplugged.data.raw_log import RawLogWriter
w = RawLogWriter.open(sys.argv[1], dataset="x", observation_shape=(1,),
                      observation_dtype="float32", generation={})
print("locked", flush=True)
sys.stdin.read()
"""


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _tree(root):
    return sorted((p.relative_to(root).as_posix(), p.stat().st_mtime_ns)
                  for p in root.rglob("*"))


def _read_only(monkeypatch, root):
    """`root` as on a read-only mount: chmod, and (for root users, whom chmod does not
    stop) every directory creation under it fails with EROFS, as the first write of the
    store would."""
    for path in [*root.rglob("*"), root]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    mkdir = pathlib.Path.mkdir

    def refuse(self, *args, **kwargs):
        if self == root or root in self.parents:
            if not self.exists():
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)


def _writable(root):
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _lock(root, tmp_path, capsys, monkeypatch):
    directory = raw_dir(tmp_path / "fresh")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(directory)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "locked"
        outcome = rlu(capsys, "datasets", "build", SPEC.name, "--data-dir", tmp_path / "fresh",
                      "--num-steps", 300)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert_rejected(outcome, directory, "another writer")


def _read_only_cache_dir(root, tmp_path, capsys, monkeypatch):
    before = _tree(root)
    expected = loader.load_transitions(SPEC, root, cache=False)
    _read_only(monkeypatch, root)
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    try:
        outcome = rlu(capsys, *TRAIN, "--data-dir", root, "--out", tmp_path / "run")
        assert outcome.rc == 0 and not outcome.err.strip(), outcome
        assert _tree(root) == before  # Nothing written under the data root.
        assert list((tmp_path / "cache").rglob("store.json"))
        np.testing.assert_array_equal(loader.load_transitions(SPEC, root).reward,
                                      expected.reward)
    finally:
        _writable(root)


def _read_only_uncached(root, tmp_path, capsys, monkeypatch):
    before = _tree(root)
    expected = loader.load_transitions(SPEC, root, cache=False)
    _read_only(monkeypatch, root)
    try:
        again = loader.load_transitions(SPEC, root, cache=False)
        assert _tree(root) == before
        for field, x, y in zip(expected._fields, expected, again, strict=True):
            np.testing.assert_array_equal(x, y, err_msg=field)
    finally:
        _writable(root)


def _read_only_no_cache_dir(root, tmp_path, capsys, monkeypatch):
    before = _tree(root)
    _read_only(monkeypatch, root)
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    try:
        outcome = rlu(capsys, *TRAIN, "--data-dir", root, "--out", tmp_path / "run")
        assert_warned(outcome, paths.cache_dir(SPEC, root), paths.CACHE_ENV)
        assert _tree(root) == before
    finally:
        _writable(root)


def _disk_full_generation(patch):
    def case(root, tmp_path, capsys, monkeypatch):
        patch(monkeypatch)
        fresh = tmp_path / "fresh"
        outcome = rlu(capsys, "datasets", "build", SPEC.name, "--data-dir", fresh,
                      "--num-steps", 300)
        return outcome, raw_dir(fresh)
    return case


def _disk_full_shard(root, tmp_path, capsys, monkeypatch):
    outcome, directory = _disk_full_generation(
        lambda mp: mp.setattr(raw_log_lib.pq, "write_table", _no_space))(
        root, tmp_path, capsys, monkeypatch)
    assert_rejected(outcome, directory / "shard-00000.steps.parquet", "No space left")


def _disk_full_resume_state(root, tmp_path, capsys, monkeypatch):
    outcome, directory = _disk_full_generation(
        lambda mp: mp.setattr(raw_log_lib.np, "savez", _no_space))(
        root, tmp_path, capsys, monkeypatch)
    assert_rejected(outcome, directory / "resume-00000.npz", "No space left")


def _disk_full_training(name):
    """`rlu train` where the write of the file called `name` finds the disk full."""
    def case(root, tmp_path, capsys, monkeypatch):
        loader.load_transitions(SPEC, root)  # The store is written before the disk fills.
        open_, write_bytes = pathlib.Path.open, pathlib.Path.write_bytes

        def full_open(self, mode="r", *args, **kwargs):
            if self.name == name and mode != "r":
                _no_space()
            return open_(self, mode, *args, **kwargs)

        def full_write_bytes(self, data):
            if self.name.startswith(f".{name}.tmp"):  # fileio's temporary sibling.
                _no_space()
            return write_bytes(self, data)

        monkeypatch.setattr(pathlib.Path, "open", full_open)
        monkeypatch.setattr(pathlib.Path, "write_bytes", full_write_bytes)
        outcome = rlu(capsys, *TRAIN, "--data-dir", root, "--out", tmp_path / "run")
        assert_rejected(outcome, tmp_path / "run", name, "No space left")
    return case


ENV_FAULTS = {
    "lock-second-writer": _lock,
    "read-only-cache-dir": _read_only_cache_dir,
    "read-only-uncached": _read_only_uncached,
    "read-only-no-cache-dir": _read_only_no_cache_dir,
    "disk-full-shard": _disk_full_shard,
    "disk-full-resume-state": _disk_full_resume_state,
    "disk-full-metrics": _disk_full_training("metrics.jsonl"),
    "disk-full-checkpoint": _disk_full_training("step_000000002.msgpack"),
}


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_environment.py::test_environment_fault"), ids=str)
def test_environment_fault(case, raw_root, tmp_path, capsys, monkeypatch):
    ENV_FAULTS[case.id](raw_root, tmp_path, capsys, monkeypatch)

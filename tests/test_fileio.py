"""fileio: atomic writes, strict JSON, named disk errors, checked JSON reads; compile_cache."""

import errno
import json
import math

import pytest

from rl_unplugged import compile_cache, fileio
from rl_unplugged.errors import CorruptDataError, DiskFullError, NotFoundError


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    fileio.write_text(path, "one")
    fileio.write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    fileio.write_text(path, "old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        fileio.atomic_write(path, broken)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_disk_full_is_named(tmp_path):
    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFullError, match=r"a\.bin: cannot write \(No space left"):
        fileio.atomic_write(tmp_path / "a.bin", full)


def test_write_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        fileio.write_json(tmp_path / "x.json", {"v": math.nan})
    fileio.write_json(tmp_path / "x.json", {"b": 1, "a": 2})
    assert (tmp_path / "x.json").read_text() == '{\n "a": 2,\n "b": 1\n}\n'


def test_atomic_directory_replaces_the_old_one(tmp_path):
    target = tmp_path / "cache"
    fileio.atomic_directory(target, lambda d: (d / "x").write_text("1"))
    fileio.atomic_directory(target, lambda d: (d / "y").write_text("2"))
    assert sorted(p.name for p in target.iterdir()) == ["y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_sha256_file(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert fileio.sha256_file(tmp_path / "f") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_read_json_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "m.json"
    with pytest.raises(NotFoundError, match="m.json: no manifest"):
        fileio.read_json(path, what="manifest")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(CorruptDataError, match="m.json: unreadable manifest"):
        fileio.read_json(path, what="manifest")
    path.write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(CorruptDataError, match=r"not a mine v1 manifest \(format 'other'\)"):
        fileio.read_json(path, what="manifest", fmt="mine", version=1)
    path.write_text(json.dumps({"format": "mine", "format_version": 1, "x": 3}))
    assert fileio.read_json(path, what="manifest", fmt="mine", version=1)["x"] == 3


def test_compile_cache_builds_once_and_evicts_the_least_recent(monkeypatch):
    compile_cache.clear()
    monkeypatch.setattr(compile_cache, "MAX_ENTRIES", 2)
    built = []

    def build(name):
        built.append(name)
        return name

    assert compile_cache.cached("a", lambda: build("a")) == "a"
    assert compile_cache.cached("a", lambda: build("a-again")) == "a"
    compile_cache.cached("b", lambda: build("b"))
    compile_cache.cached("a", lambda: build("a-3"))  # a is now the most recent.
    compile_cache.cached("c", lambda: build("c"))  # evicts b.
    compile_cache.cached("b", lambda: build("b-2"))
    assert built == ["a", "b", "c", "b-2"]
    compile_cache.clear()

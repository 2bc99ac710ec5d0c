"""Damaged stored data, found by `rlu train` and `rlu datasets build`: the store is rebuilt
with a warning naming the file; the raw log (the original) is refused naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rl_unplugged import generation
from rl_unplugged.data import loader
from rl_unplugged.data.raw_log import read_manifest
from tests.reliability import catalogue
from tests.reliability.conftest import (
    SPEC,
    TRAIN,
    assert_rejected,
    assert_warned,
    flip,
    garbage,
    raw_dir,
    rlu,
    store_dir,
    truncate,
)


def _npy_header(path):
    raw = bytearray(path.read_bytes())
    raw[10:40] = b"{'descr': '|O', 'shape': (3,)}"  # A pickled-object header.
    path.write_bytes(bytes(raw))


def _steps(root):
    return raw_dir(root) / "shard-00000.steps.parquet"


# id: (damage(root), the file the message must name)
STORE_FAULTS = {
    "store-column-flip": (lambda r: flip(store_dir(r) / "reward.npy"), "reward.npy"),
    "store-column-truncate": (lambda r: truncate(store_dir(r) / "observation.npy"),
                              "observation.npy"),
    "store-column-delete": (lambda r: (store_dir(r) / "action.npy").unlink(), "action.npy"),
    "store-npy-header": (lambda r: _npy_header(store_dir(r) / "discount.npy"), "discount.npy"),
    "store-manifest-delete": (lambda r: (store_dir(r) / "store.json").unlink(), "store.json"),
    "store-manifest-garbage": (lambda r: garbage(store_dir(r) / "store.json"), "store.json"),
    "store-manifest-truncate": (lambda r: truncate(store_dir(r) / "store.json"), "store.json"),
    "store-source-shard-flip": (lambda r: flip(_steps(r), 100), "shard-00000.steps.parquet"),
}


def assert_same(a, b):
    for field, x, y in zip(a._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=field)


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_stored_data.py::test_store_fault"), ids=str)
def test_store_fault(case, raw_root, tmp_path, capsys):
    damage, name = STORE_FAULTS[case.id]
    clean = loader.load_transitions(SPEC, raw_root)  # Writes the store.
    damage(raw_root)
    outcome = rlu(capsys, *TRAIN, "--data-dir", raw_root, "--out", tmp_path / "run")
    if case.outcome == catalogue.REJECTED:
        assert_rejected(outcome, name, "checksum")
        return
    assert case.outcome == catalogue.REBUILT
    assert_warned(outcome, name, "rebuilding the store")
    assert_same(loader.load_transitions(SPEC, raw_root), clean)  # Rebuilt whole.


def _manifest_format(root):
    path = raw_dir(root) / "manifest.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), format="other")))


RAW_FAULTS = {
    "raw-steps-flip": (lambda r: flip(_steps(r), 100), "shard-00000.steps.parquet"),
    "raw-steps-truncate": (lambda r: truncate(_steps(r)), "shard-00000.steps.parquet"),
    "raw-steps-delete": (lambda r: _steps(r).unlink(), "shard-00000.steps.parquet"),
    "raw-episodes-flip": (lambda r: flip(raw_dir(r) / "shard-00001.episodes.parquet", 50),
                          "shard-00001.episodes.parquet"),
    "raw-episodes-delete": (lambda r: (raw_dir(r) / "shard-00001.episodes.parquet").unlink(),
                            "shard-00001.episodes.parquet"),
    "raw-manifest-delete": (lambda r: (raw_dir(r) / "manifest.json").unlink(), "manifest.json"),
    "raw-manifest-garbage": (lambda r: garbage(raw_dir(r) / "manifest.json"), "manifest.json"),
    "raw-manifest-truncate": (lambda r: truncate(raw_dir(r) / "manifest.json"),
                              "manifest.json"),
    "raw-manifest-format": (_manifest_format, "manifest.json"),
    "raw-manifest-not-object": (lambda r: (raw_dir(r) / "manifest.json").write_text("[1]"),
                                "manifest.json"),
}


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_stored_data.py::test_raw_log_fault"), ids=str)
def test_raw_log_fault(case, raw_root, tmp_path, capsys):
    damage, name = RAW_FAULTS[case.id]
    damage(raw_root)
    outcome = rlu(capsys, *TRAIN, "--data-dir", raw_root, "--out", tmp_path / "run")
    assert_rejected(outcome, raw_dir(raw_root), name)
    assert not (tmp_path / "run").exists()  # Refused before training started.


class _Stop(Exception):
    pass


def _interrupted_build(root, num_steps):
    """A real generation stopped after its first committed shards (a resume state)."""
    spec = SPEC.replace(num_steps=num_steps)

    def stop(new_transitions):
        manifest = read_manifest(raw_dir(root))
        if manifest and manifest["num_transitions"] >= num_steps // 3:
            raise _Stop

    with pytest.raises(_Stop):
        generation.generate(spec, root, progress=stop, shard_transitions=100)
    manifest = read_manifest(raw_dir(root))
    assert manifest["resume_state"] and not manifest["complete"]
    return raw_dir(root) / manifest["resume_state"]


def _other_parameters(path):
    """A well-formed state whose agent parameters differ: only its checksum tells."""
    with np.load(path) as data:
        state = {k: data[k] for k in data.files}
    key = next(k for k, v in state.items() if k.startswith("agent/") and v.dtype.kind == "f")
    state[key] = state[key] + 1.0
    with open(path, "wb") as f:
        np.savez(f, **state)


RESUME_FAULTS = {"resume-state-flip": lambda p: flip(p, p.stat().st_size // 2),
                 "resume-state-truncate": truncate,
                 "resume-state-replaced": _other_parameters,
                 "resume-state-delete": lambda p: p.unlink()}


@pytest.mark.parametrize("case", catalogue.cases(
    "tests/reliability/test_stored_data.py::test_resume_state_fault"), ids=str)
def test_resume_state_fault(case, tmp_path, capsys):
    root = tmp_path / "data"
    state = _interrupted_build(root, num_steps=600)
    RESUME_FAULTS[case.id](state)
    outcome = rlu(capsys, "datasets", "build", SPEC.name, "--data-dir", root,
                  "--num-steps", 600)
    assert_rejected(outcome, state)


def test_an_intact_resume_state_resumes(tmp_path, capsys):
    """The control of the cases above: the same interruption, undamaged, resumes."""
    root = tmp_path / "data"
    _interrupted_build(root, num_steps=600)
    log = generation.generate(SPEC.replace(num_steps=600), root, shard_transitions=100)
    assert log.manifest["complete"] and "resume_state_sha256" not in log.manifest

"""Sources: the raw-log source, the default blocks, and the data layer's boundaries."""

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rl_unplugged
import rl_unplugged.data as data_api
from rl_unplugged import paths, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data import sources
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.errors import IncompatibleError, NotFoundError
from tests.data.fakes import CONTINUOUS, ListSource, make_episodes
from tests.data.test_loader import SPEC, write_log

DATA_DIR = Path(rl_unplugged.__file__).parent / "data"


def test_raw_log_source_describes_its_log(tmp_path):
    write_log(tmp_path)
    source = sources.RawLogSource.from_spec(SPEC, tmp_path)
    raw = paths.raw_dir(SPEC, tmp_path)
    assert source.name == SPEC.name and source.task == SPEC.task
    assert source.uri == raw.resolve().as_uri()
    assert source.fingerprint() == hashlib.sha256((raw / "manifest.json").read_bytes()).hexdigest()
    assert source.metadata["num_transitions"] == 25 and source.metadata["num_episodes"] == 5
    assert set(source.signature()) == {p.name for p in raw.glob("shard-*.parquet")}
    assert isinstance(source, data_api.Source)


def test_raw_log_blocks_hold_the_same_episodes(tmp_path):
    write_log(tmp_path)
    source = sources.RawLogSource.from_spec(SPEC, tmp_path)
    blocks = list(source.iter_blocks())
    assert len(blocks) == len(RawLog(paths.raw_dir(SPEC, tmp_path)).manifest["shards"])
    regrouped = sources.block_of(list(source.iter_episodes()))
    for key in (*F.STEP_FIELDS, F.EPISODE_ID):
        np.testing.assert_array_equal(np.concatenate([b.steps[key] for b in blocks]),
                                      regrouped.steps[key], err_msg=key)
    for key in (F.EPISODE_ID, F.EPISODE_RETURN, F.EPISODE_LENGTH):
        np.testing.assert_array_equal(np.concatenate([b.metadata[key] for b in blocks]),
                                      regrouped.metadata[key], err_msg=key)


def test_default_blocks_group_whole_episodes(monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_STEPS", 6)
    episodes = make_episodes(CONTINUOUS, [2, 3, 4, 1])  # 3, 4, 5, 2 steps.
    blocks = list(ListSource(CONTINUOUS, episodes).iter_blocks())
    assert [list(b.metadata[F.EPISODE_ID]) for b in blocks] == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(blocks[1].steps[F.EPISODE_ID], [2] * 5 + [3] * 2)
    assert blocks[0].steps[F.ACTION].shape == (7, 2)


def test_missing_or_foreign_raw_logs_are_named(tmp_path):
    with pytest.raises(NotFoundError, match="rlu datasets build rlu_bsuite/catch_random_run0"):
        sources.RawLogSource.from_spec(SPEC, tmp_path)
    write_log(tmp_path)
    other = registry.get_dataset("rlu_bsuite/catch_random_run1")
    paths.raw_dir(SPEC, tmp_path).rename(paths.raw_dir(other, tmp_path))
    with pytest.raises(IncompatibleError, match="holds a raw log of rlu_bsuite/catch_random_run0"):
        sources.RawLogSource.from_spec(other, tmp_path)


def test_public_api_is_exported():
    for name in data_api.__all__:
        assert hasattr(data_api, name), name
    for name in ("Source", "RawLogSource", "materialize", "open_store", "load_transitions",
                 "load_episodes", "Transitions", "Episode", "fields", "CorruptDataError"):
        assert name in data_api.__all__


def test_importing_data_does_not_import_generation():
    code = ("import sys, rl_unplugged.data; "
            "print(sorted(m for m in sys.modules if m.startswith('rl_unplugged.generation')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=DATA_DIR.parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_no_module_of_data_imports_generation():
    """Not at module level, not inside functions: generation is injected (`generate=`)."""
    for path in sorted(DATA_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n.startswith("rl_unplugged.generation") for n in names), \
                f"{path.name}:{node.lineno} imports generation"

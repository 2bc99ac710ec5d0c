"""Damaged stores and raw logs: named, rebuilt or refused, never silently served."""

import os
import warnings

import numpy as np
import pytest

from rl_unplugged import paths
from rl_unplugged.data import loader
from rl_unplugged.data import store as S
from rl_unplugged.data.raw_log import CorruptLogError
from rl_unplugged.errors import CorruptDataError, DiskFullError
from tests.data.test_loader import SPEC, write_log


@pytest.fixture
def built(tmp_path):
    """(data root, store directory, transitions) after a first load wrote the store."""
    write_log(tmp_path)
    data = loader.load_transitions(SPEC, tmp_path)
    (store_dir,) = paths.cache_dir(SPEC, tmp_path).iterdir()
    S.forget_verified()  # As a new process would see the store.
    return tmp_path, store_dir, data


def assert_equal(a, b):
    for field, x, y in zip(a._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=field)


def flip_last_byte(path):
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # The high byte of the last float32: a huge value, inf or NaN.
    path.write_bytes(bytes(raw))


def test_flipped_byte_in_rewards_is_named_and_the_store_rebuilt(built):
    root, store_dir, data = built
    flip_last_byte(store_dir / "reward.npy")
    with pytest.raises(CorruptDataError, match=r"reward\.npy: checksum mismatch"):
        S.open_store(store_dir)
    with pytest.warns(loader.StoreRebuiltWarning, match=r"reward\.npy.*rebuilding"):
        again = loader.load_transitions(SPEC, root)
    assert_equal(again, data)
    assert np.isfinite(again.reward).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Rebuilt whole: no further warning.
        assert_equal(loader.load_transitions(SPEC, root), data)


def test_a_file_changed_after_verification_in_this_process_is_verified_again(built):
    root, store_dir, _ = built
    S.open_store(store_dir)  # Verified and remembered.
    path = store_dir / "discount.npy"
    st = path.stat()
    flip_last_byte(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(CorruptDataError, match=r"discount\.npy: checksum mismatch"):
        S.open_store(store_dir)


def test_truncated_npy_is_named(built):
    root, store_dir, data = built
    path = store_dir / "observation.npy"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CorruptDataError, match=r"observation\.npy: \d+ bytes, the store "
                                               r"manifest says \d+ \(truncated"):
        S.open_store(store_dir, verify=False)  # The size check needs no digest.
    with pytest.warns(loader.StoreRebuiltWarning, match="observation.npy"):
        assert_equal(loader.load_transitions(SPEC, root, mmap=True), data)


def test_corrupted_npy_header_is_named_never_a_numpy_traceback(built):
    root, store_dir, data = built
    path = store_dir / "action.npy"
    raw = path.read_bytes()
    garbled = raw.replace(b"'descr'", b"'dxscr'")  # Same size: only a digest sees it.
    assert garbled != raw and len(garbled) == len(raw)
    path.write_bytes(garbled)
    with pytest.raises(CorruptDataError, match=r"action\.npy: checksum mismatch"):
        S.open_store(store_dir)
    store = S.open_store(store_dir, verify=False)
    with pytest.raises(CorruptDataError, match=r"action\.npy: unreadable \.npy file"):
        store.transitions()
    reshaped = raw.replace(b"(25,)", b"(5,) ")  # A header that parses, with another shape.
    path.write_bytes(reshaped)
    with pytest.raises(CorruptDataError, match=r"action\.npy: holds int32 \(5,\)"):
        S.open_store(store_dir, verify=False).transitions()
    with pytest.warns(loader.StoreRebuiltWarning, match="action.npy"):
        assert_equal(loader.load_transitions(SPEC, root), data)


def test_deleted_column_is_named_and_rebuilt(built):
    root, store_dir, data = built
    (store_dir / "next_observation.npy").unlink()
    with pytest.raises(CorruptDataError, match=r"next_observation\.npy: store file missing"):
        S.open_store(store_dir)
    with pytest.warns(loader.StoreRebuiltWarning, match="next_observation.npy"):
        assert_equal(loader.load_transitions(SPEC, root), data)


def test_unreadable_store_manifest_is_named(built):
    _, store_dir, _ = built
    (store_dir / S.MANIFEST).write_text("{not json")
    with pytest.raises(CorruptDataError, match=r"store\.json: unreadable store manifest"):
        S.open_store(store_dir)


def test_deleted_store_manifest_is_named_and_rebuilt(built):
    root, store_dir, data = built
    (store_dir / S.MANIFEST).unlink()
    with pytest.warns(loader.StoreRebuiltWarning, match=r"store\.json: store manifest missing"):
        assert_equal(loader.load_transitions(SPEC, root), data)
    assert (store_dir / S.MANIFEST).exists()


def test_parquet_shard_changed_under_an_existing_store_is_named(built):
    root, _, _ = built
    shard = paths.raw_dir(SPEC, root) / "shard-00001.steps.parquet"
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    shard.write_bytes(bytes(raw))
    with pytest.raises(CorruptLogError, match=r"shard-00001\.steps\.parquet: checksum mismatch"):
        loader.load_transitions(SPEC, root)


def test_shard_touched_but_unchanged_keeps_the_store(built):
    root, store_dir, data = built
    shard = paths.raw_dir(SPEC, root) / "shard-00000.episodes.parquet"
    st = shard.stat()
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_equal(loader.load_transitions(SPEC, root), data)
    # The new look of the raw log is recorded: the next open trusts the store again.
    assert S.open_store(store_dir).source["signature"]["shard-00000.episodes.parquet"][1] == \
        st.st_mtime_ns + 5_000_000_000


def tree(root):
    return sorted((p.relative_to(root).as_posix(), p.stat().st_mtime_ns)
                  for p in root.rglob("*"))


def test_read_only_data_dir_with_a_separate_cache_dir(tmp_path, monkeypatch):
    data_root = tmp_path / "data"
    write_log(data_root)
    expected = loader.load_transitions(SPEC, data_root, cache=False)
    before = tree(data_root)
    for path in [*data_root.rglob("*"), data_root]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        cached = loader.load_transitions(SPEC, data_root, cache_dir=tmp_path / "cache")
        assert_equal(cached, expected)
        assert list((tmp_path / "cache" / SPEC.builder_name / SPEC.config_name).iterdir())
        monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "env_cache"))
        assert_equal(loader.load_transitions(SPEC, data_root), expected)
        assert (tmp_path / "env_cache" / SPEC.builder_name / SPEC.config_name).is_dir()
        assert tree(data_root) == before  # Nothing written under the data root.
    finally:
        for path in [data_root, *data_root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_uncached_read_writes_nothing_and_checks_shards(tmp_path):
    write_log(tmp_path)
    direct = loader.load_transitions(SPEC, tmp_path, cache=False)
    assert not paths.cache_dir(SPEC, tmp_path).exists()
    assert_equal(direct, loader.load_transitions(SPEC, tmp_path))
    shard = paths.raw_dir(SPEC, tmp_path) / "shard-00000.steps.parquet"
    raw = bytearray(shard.read_bytes())
    raw[100] ^= 0x01
    shard.write_bytes(bytes(raw))
    with pytest.raises(CorruptLogError, match=r"shard-00000\.steps\.parquet: checksum"):
        loader.load_transitions(SPEC, tmp_path, cache=False)


def test_unwritable_store_falls_back_to_an_uncached_read(tmp_path, monkeypatch):
    write_log(tmp_path)

    def refuse(target, fill):
        raise DiskFullError(f"{target}: cannot write (Read-only file system)")

    monkeypatch.setattr(S.fileio, "atomic_directory", refuse)
    with pytest.warns(loader.UncachedReadWarning, match="Read-only file system.*RLU_CACHE_DIR"):
        data = loader.load_transitions(SPEC, tmp_path)
    assert data.size == 25

import pytest

from rl_unplugged import errors, paths, registry


def test_tfds_data_dir_is_honoured(monkeypatch, tmp_path):
    spec = registry.get_dataset("rlu_bsuite/catch_noise0_run0")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert paths.raw_dir(spec) == tmp_path / "rlu_raw/rlu_bsuite/catch_noise0_run0"
    assert paths.data_dir(tmp_path / "x") == tmp_path / "x"


def test_cache_dir_explicit_then_environment_then_data_root(monkeypatch, tmp_path):
    spec = registry.get_dataset("rlu_bsuite/catch_noise0_run0")
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    assert paths.cache_dir(spec, tmp_path) == tmp_path / "rlu_cache/rlu_bsuite/catch_noise0_run0"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "env"))
    assert paths.cache_dir(spec, tmp_path) == tmp_path / "env/rlu_bsuite/catch_noise0_run0"
    assert paths.cache_dir(spec, tmp_path, tmp_path / "x") == \
        tmp_path / "x/rlu_bsuite/catch_noise0_run0"


def test_object_store_urls_are_refused_by_name(monkeypatch):
    # Raw logs need POSIX locks and renames: "gs://b/x" must not become a local "gs:/b/x".
    with pytest.raises(errors.ConfigError, match="'gs://bucket/tfds' is a URL"):
        paths.data_dir("gs://bucket/tfds")
    monkeypatch.setenv("TFDS_DATA_DIR", "s3://bucket/tfds")
    with pytest.raises(errors.ConfigError, match="TFDS_DATA_DIR 's3://bucket/tfds'"):
        paths.data_dir()
    with pytest.raises(errors.ConfigError, match="--scratch"):
        paths.local_path("gs://b/scratch", "--scratch")

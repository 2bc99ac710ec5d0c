from rl_unplugged import paths, registry


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

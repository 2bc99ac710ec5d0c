from rl_unplugged import paths, registry


def test_tfds_data_dir_is_honoured(monkeypatch, tmp_path):
    spec = registry.get_dataset("rlu_bsuite/catch_noise0_run0")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert paths.raw_dir(spec) == tmp_path / "rlu_raw/rlu_bsuite/catch_noise0_run0"
    assert paths.data_dir(tmp_path / "x") == tmp_path / "x"

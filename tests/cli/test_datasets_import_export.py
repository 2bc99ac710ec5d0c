"""`rlu datasets import` / `export` and training on an imported dataset."""

import json

import numpy as np
import pytest

from rl_unplugged.cli import main
from rl_unplugged.data import loader
from tests.data.test_sources_d4rl import write_d4rl
from tests.data.test_sources_minari import write_minari


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("rlu: error: ") and len(err.splitlines()) == 1, err
    return err


def test_import_then_load_train_and_export(tmp_path, capsys):
    data_dir = tmp_path / "data"
    cols = write_d4rl(tmp_path / "walker.hdf5", discrete=True)
    assert main(["datasets", "import", f"d4rl:{tmp_path / 'walker.hdf5'}", "--as", "walker",
                 "--data-dir", str(data_dir)]) == 0
    assert "imported d4rl:" in capsys.readouterr().out
    data = loader.load_transitions("walker", data_dir)
    np.testing.assert_array_equal(data.observation, cols["observations"])
    assert loader.open_dataset("walker", data_dir).num_episodes == 3

    out = tmp_path / "run"
    rc = main(["train", "bc", "--dataset", "walker", "--data-dir", str(data_dir), "--steps",
               "2", "--set", "hidden=8,8", "--set", "batch_size=4", "--out", str(out),
               "--log-every", "1", "--probe-every", "0", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "walker" and config["task"] == "imported/walker"
    capsys.readouterr()

    assert main(["datasets", "export", "walker", "--to", "npz", str(tmp_path / "w.npz"),
                 "--data-dir", str(data_dir)]) == 0
    with np.load(tmp_path / "w.npz") as f:
        np.testing.assert_array_equal(f["next_observation"], cols["next_observations"])
    store_dir = data_dir / "rlu_imported" / "walker"
    assert main(["datasets", "export", str(store_dir), "--to", "d3rlpy",
                 str(tmp_path / "w.h5")]) == 0
    assert main(["datasets", "export", "walker", "--to", "minari", str(tmp_path / "m" / "w-v0"),
                 "--data-dir", str(data_dir)]) == 0
    assert main(["datasets", "import", f"minari:{tmp_path / 'm' / 'w-v0'}", "--as", "back",
                 "--data-dir", str(data_dir)]) == 0
    np.testing.assert_array_equal(loader.load_transitions("back", data_dir).truncated,
                                  data.truncated)


def test_import_with_a_registered_task(tmp_path, capsys):
    write_minari(tmp_path / "ds")
    assert main(["datasets", "import", f"minari:{tmp_path / 'ds'}", "--as", "pm",
                 "--task", "bsuite/catch", "--data-dir", str(tmp_path)]) == 2
    assert "observations have shape (3,), bsuite/catch needs" in _one_line_error(capsys)


def test_import_and_export_errors_are_one_line(tmp_path, capsys):
    assert main(["datasets", "import", "hf:x", "--as", "x", "--data-dir", str(tmp_path)]) == 2
    assert "tfds:..., minari:..." in _one_line_error(capsys)
    write_d4rl(tmp_path / "f.hdf5")
    assert main(["datasets", "import", f"d4rl:{tmp_path / 'f.hdf5'}", "--as",
                 "rlu_bsuite/catch_noise0_run0", "--data-dir", str(tmp_path)]) == 2
    assert "a registered dataset has that name" in _one_line_error(capsys)
    assert main(["datasets", "export", "nothing_here", "--to", "npz", str(tmp_path / "x.npz"),
                 "--data-dir", str(tmp_path)]) == 2
    _one_line_error(capsys)
    assert main(["datasets", "export", "rlu_bsuite/catch_noise0_run0", "--to", "csv",
                 str(tmp_path / "x"), "--data-dir", str(tmp_path)]) == 2
    _one_line_error(capsys)


@pytest.mark.parametrize("flag", ["--as"])
def test_import_needs_a_name(flag, capsys):
    with pytest.raises(SystemExit):
        main(["datasets", "import", "d4rl:/x"])
    assert flag in capsys.readouterr().err

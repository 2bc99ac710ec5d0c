"""`rlu convert DOMAIN --src PATH --out DIR`, then `rlu datasets export DIR` and back."""

import json

import numpy as np
import pytest

from rl_unplugged.cli import main
from rl_unplugged.data import loader
from rl_unplugged.data import store as S
from rl_unplugged.data.rlu_originals import original_path
from rl_unplugged.errors import ConfigError, UnknownNameError
from tests.data.test_rlu_originals import write_atari, write_control
from tests.data.test_rlu_originals_dmlab import write_dmlab
from tests.data.test_rlu_originals_sequences import write_bsuite

pytest.importorskip("tensorflow")

FIELDS = ("observation", "action", "reward", "discount", "next_observation", "truncated",
          "episode_id", "step")


def _same_transitions(a, b):
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def test_convert_atari_export_npz_and_import_back(tmp_path, capsys):
    expected = write_atari(tmp_path / "bucket" / "atari")
    out = tmp_path / "pong_store"
    assert main(["convert", "atari", "--src", str(tmp_path / "bucket"), "--game", "Pong",
                 "--run", "1", "--out", str(out)]) == 0
    assert "3 episodes, 7 transitions" in capsys.readouterr().out
    store = S.open_store(out)
    assert main(["datasets", "export", str(out), "--to", "npz", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as f:
        arrays = {k: f[k] for k in f.files}
    # One row per transition, in file order: the fixture's stacks, actions, rewards.
    stacks = [s for _, _, episode in expected for s in episode[:-1]]
    nexts = [s for _, _, episode in expected for s in episode[1:]]
    np.testing.assert_array_equal(arrays["observation"], np.stack(stacks))
    np.testing.assert_array_equal(arrays["next_observation"], np.stack(nexts))
    np.testing.assert_array_equal(arrays["action"], [0, 1, 2, 0, 1, 0, 1])
    np.testing.assert_array_equal(arrays["reward"], [-1, 0, 1, -1, 0, -1, 0])
    np.testing.assert_array_equal(arrays["discount"], [1, 1, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(arrays["truncated"], [0, 0, 0, 0, 1, 0, 0])
    assert arrays["episode_id"].dtype == np.uint64
    np.testing.assert_array_equal(arrays["episode_id"], [0, 0, 0, 1, 1, 2, 2])
    assert json.loads(str(arrays["task"]))["task"]["action"]["num_values"] == 18

    data_dir = tmp_path / "data"
    assert main(["datasets", "import", f"npz:{tmp_path / 'p.npz'}", "--as", "pong_back",
                 "--data-dir", str(data_dir)]) == 0
    _same_transitions(loader.load_transitions("pong_back", data_dir), store.transitions())
    assert main(["datasets", "export", str(out), "--to", "minari",
                 str(tmp_path / "m" / "pong-v0")]) == 0
    assert main(["datasets", "import", f"minari:{tmp_path / 'm' / 'pong-v0'}", "--as",
                 "pong_minari", "--data-dir", str(data_dir)]) == 0
    _same_transitions(loader.load_transitions("pong_minari", data_dir), store.transitions())


def test_convert_into_rlu_imported_makes_a_trainable_name(tmp_path, capsys):
    write_bsuite(tmp_path / "bucket")
    data_dir = tmp_path / "data"
    out = data_dir / "rlu_imported" / "catch_original"
    assert main(["convert", "bsuite", "--src", str(tmp_path / "bucket"), "--task", "catch",
                 "--run", "0_0.1", "--out", str(out)]) == 0
    data = loader.load_transitions("catch_original", data_dir)
    assert data.size == 12
    rc = main(["train", "dqn", "--dataset", "catch_original", "--data-dir", str(data_dir),
               "--steps", "2", "--set", "batch_size=4", "--out", str(tmp_path / "run"),
               "--log-every", "1", "--probe-every", "0", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"] == "bsuite/catch"


def test_convert_dmlab_round_trips_through_npz(tmp_path):
    write_dmlab(tmp_path / "bucket")
    out = tmp_path / "store"
    assert main(["convert", "dmlab", "--src", str(tmp_path / "bucket"), "--task",
                 "rooms_select_nonmatching_object", "--run", "training_0", "--out",
                 str(out)]) == 0
    assert main(["datasets", "export", str(out), "--to", "npz", str(tmp_path / "d.npz")]) == 0
    assert main(["datasets", "import", f"npz:{tmp_path / 'd.npz'}", "--as", "lab",
                 "--data-dir", str(tmp_path)]) == 0
    back = loader.load_transitions("lab", tmp_path)
    assert back.observation.dtype == np.uint8 and back.observation.shape[1:] == (72, 96, 3)
    _same_transitions(back, S.open_store(out).transitions())


def test_convert_refuses_another_suite_and_missing_names(tmp_path, capsys):
    d = write_control(tmp_path)
    assert main(["convert", "atari", "--src", str(d), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "holds ControlSuite data, not atari" in err and len(err.splitlines()) == 1
    assert main(["convert", "control_suite", "--src", str(tmp_path), "--task",
                 "cartpole_swingup", "--out", str(tmp_path / "o")]) == 0
    assert S.open_store(tmp_path / "o").num_transitions == 4
    assert main(["convert", "dmlab", "--src", str(tmp_path), "--task", "rooms_watermaze",
                 "--out", str(tmp_path / "o")]) == 2
    assert "give --run" in capsys.readouterr().err


def test_original_paths_follow_the_bucket_layout(tmp_path):
    root = str(tmp_path)
    assert original_path("atari", root, game="Pong") == f"{root}/Pong/run_1"
    (tmp_path / "atari").mkdir()  # A bucket copy: the suite directory is under the root.
    assert original_path("atari", root, game="Pong", run="3") == f"{root}/atari/Pong/run_3"
    assert original_path("locomotion", root, task="rodent_mazes") == \
        f"{root}/rodent_mazes/seq40"
    assert original_path("locomotion", root, task="humanoid_gaps", sequence_length=40) == \
        f"{root}/humanoid_gaps/seq40"
    assert original_path("bsuite", root, task="catch", run="2_0.3") == \
        f"{root}/catch/2_0.3/2_full"
    assert original_path("dmlab", root, task="rooms_watermaze", run="training_1") == \
        f"{root}/rooms_watermaze/training_1"
    assert original_path("rwrl", root, task="cartpole/realworld_swingup", run="hard",
                         challenge="easy") == (f"{root}/combined_challenge_easy/cartpole/"
                                               f"realworld_swingup/offline_rl_challenge_hard")
    assert original_path("control_suite", f"{root}/x/fish_swim/") == f"{root}/x/fish_swim"
    with pytest.raises(ConfigError, match="give --game"):
        original_path("atari", root, task="Pong")
    with pytest.raises(UnknownNameError, match="unknown RL Unplugged domain 'dmlb'; use one of "
                                               "atari, control_suite"):
        original_path("dmlb", root, task="x")

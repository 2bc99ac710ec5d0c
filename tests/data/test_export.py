"""Exports (npz, Minari, d3rlpy): documented layouts, and export-then-import is the identity."""

import json

import h5py
import numpy as np
import pytest

from rl_unplugged.data import export, imported, uri
from rl_unplugged.data import store as S
from tests.data.fakes import CARTPOLE, CONTINUOUS, ListSource, make_episodes

LENGTHS = [3, 2, 4, 1, 2]  # Even episodes terminate, odd ones are truncated.


def _store(tmp_path, task=CARTPOLE):
    return S.materialize(ListSource(task, make_episodes(task, LENGTHS)), tmp_path / "store")


def assert_same(a, b, *, skip=()):
    for field in a._fields:
        if field not in skip:
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
            assert np.asarray(getattr(a, field)).dtype == np.asarray(getattr(b, field)).dtype, \
                field


def test_npz_layout_is_the_documented_one(tmp_path):
    store = _store(tmp_path)
    export.export_npz(store, CARTPOLE, tmp_path / "d.npz")
    data = store.transitions()
    with np.load(tmp_path / "d.npz", allow_pickle=False) as f:
        assert sorted(f.files) == sorted(
            ["observation", "action", "reward", "discount", "next_observation", "terminal",
             "truncated", "episode_id", "step", "task"])
        assert f["episode_id"].dtype == np.uint64 and f["action"].dtype == np.int32
        np.testing.assert_array_equal(f["episode_id"], [0] * 3 + [1] * 2 + [2] * 4 + [3] + [4] * 2)
        last = np.cumsum(LENGTHS) - 1
        np.testing.assert_array_equal(np.flatnonzero(f["terminal"]), last[[0, 2, 4]])
        np.testing.assert_array_equal(np.flatnonzero(f["truncated"]), last[[1, 3]])
        np.testing.assert_array_equal(f["observation"], data.observation)
        np.testing.assert_array_equal(f["discount"], 1.0 - f["terminal"])
        assert json.loads(str(f["task"])) == {"task_id": "classic/cartpole"}


@pytest.mark.parametrize("task", [CARTPOLE, CONTINUOUS], ids=["discrete", "continuous"])
def test_npz_round_trip_is_the_identity(tmp_path, task):
    store = _store(tmp_path, task)
    export.export_npz(store, task, tmp_path / "d.npz")
    source = uri.open_source(f"npz:{tmp_path / 'd.npz'}")
    assert source.task == task
    back = imported.import_source(source, "again", tmp_path / "data")
    assert_same(store.transitions(), back.transitions())
    assert imported.store_task(back) == task


def test_minari_layout_and_round_trip(tmp_path):
    store = _store(tmp_path)
    out = export.export_minari(store, CARTPOLE, tmp_path / "rlu" / "cartpole-v0",
                               references=(10.0, 500.0))
    meta = json.loads((out / "data" / "metadata.json").read_text())
    assert meta["dataset_id"] == "rlu/cartpole-v0" and meta["total_episodes"] == 5
    assert meta["total_steps"] == sum(LENGTHS) and meta["data_format"] == "hdf5"
    assert (meta["ref_min_score"], meta["ref_max_score"]) == (10.0, 500.0)
    assert json.loads(meta["action_space"]) == {"type": "Discrete", "dtype": "int64",
                                                "start": 0, "n": 2}
    assert json.loads(meta["observation_space"])["shape"] == [4]
    data = store.transitions()
    with h5py.File(out / "data" / "main_data.hdf5", "r") as f:
        assert list(f.keys()) == [f"episode_{i}" for i in range(5)]
        g = f["episode_1"]
        assert g["observations"].shape == (3, 4) and g["actions"].shape == (2,)
        np.testing.assert_array_equal(g["observations"][:2], data.observation[3:5])
        np.testing.assert_array_equal(g["observations"][2], data.next_observation[4])
        np.testing.assert_array_equal(g["terminations"][()], [False, False])
        np.testing.assert_array_equal(g["truncations"][()], [False, True])
        np.testing.assert_array_equal(f["episode_0"]["terminations"][()], [0, 0, 1])
    source = uri.open_source(f"minari:{out}")
    assert source.task == CARTPOLE and source.metadata["ref_max_score"] == 500.0
    assert_same(data, imported.import_source(source, "m", tmp_path / "data").transitions())


def test_d3rlpy_layout_keeps_truncated_last_transitions(tmp_path):
    store = _store(tmp_path, CONTINUOUS)
    export.export_d3rlpy(store, CONTINUOUS, tmp_path / "d.h5")
    data = store.transitions()
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert f["version"][()] == b"2.1" and int(f["num_episodes"][()]) == 5
        assert [c.decode() for c in f["columns"][()]] == ["observations", "actions", "rewards",
                                                         "terminated"]
        # Terminated: T rows. Truncated: T + 1 rows (the final observation; d3rlpy then
        # counts T transitions, size - 1).
        assert [len(f[f"observations_{i}"]) for i in range(5)] == [3, 3, 4, 2, 2]
        assert [bool(f[f"terminated_{i}"][()]) for i in range(5)] == [1, 0, 1, 0, 1]
        assert f["rewards_1"].shape == (3, 1) and f["actions_1"].shape == (3, 2)
        np.testing.assert_array_equal(f["observations_1"][2], data.next_observation[4])
        np.testing.assert_array_equal(f["actions_1"][2], [0, 0])
    back = imported.import_source(uri.open_source(f"d3rlpy:{tmp_path / 'd.h5'}"), "d",
                                  tmp_path / "data").transitions()
    assert_same(data, back, skip=("next_observation",))
    terminal = data.discount == 0
    np.testing.assert_array_equal(back.next_observation[~terminal],
                                  data.next_observation[~terminal])
    assert not back.next_observation[terminal].any()  # d3rlpy's zeros, documented.


def test_d3rlpy_discrete_actions_are_a_column(tmp_path):
    store = _store(tmp_path)
    export.export_d3rlpy(store, CARTPOLE, tmp_path / "d.h5")
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert f["actions_0"].shape == (3, 1) and f["actions_0"].dtype == np.int32
    back = imported.import_source(uri.open_source(f"d3rlpy:{tmp_path / 'd.h5'}"), "d",
                                  tmp_path / "data").transitions()
    assert_same(store.transitions(), back, skip=("next_observation",))


def test_npz_of_converted_atari_keeps_the_original_uint64_ids(tmp_path):
    pytest.importorskip("tensorflow")
    from rl_unplugged.data.rlu_originals import AtariSource
    from tests.data.test_rlu_originals import write_atari

    # Ids 2**63 + 5 (negative as int64: the bit-cast), 7, 9; 3 + 2 + 2 rows.
    write_atari(tmp_path)
    source = AtariSource(str(tmp_path / "Pong" / "run_1"))
    store = S.materialize(source, tmp_path / "store")
    export.export_npz(store, source.task, tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as f:
        assert f["source_episode_id"].dtype == np.uint64
        np.testing.assert_array_equal(f["source_episode_id"],
                                      [2**63 + 5] * 3 + [7] * 2 + [9] * 2)
        np.testing.assert_array_equal(f["episode_id"], [0] * 3 + [1] * 2 + [2] * 2)
    back = imported.import_source(uri.open_source(f"npz:{tmp_path / 'a.npz'}"), "a",
                                  tmp_path / "data")
    assert_same(store.transitions(), back.transitions())
    # The original ids come back as episode metadata: export, import, export is the identity.
    export.export_npz(back, source.task, tmp_path / "b.npz")
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            assert a[key].dtype == b[key].dtype, key

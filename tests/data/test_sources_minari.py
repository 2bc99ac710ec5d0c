"""Minari datasets (HDF5 storage, written here as Minari 0.5 writes them) through the door."""

import json

import h5py
import numpy as np
import pytest

from rl_unplugged.data import imported, uri
from rl_unplugged.data import store as S
from rl_unplugged.data.sources_minari import MinariSource
from rl_unplugged.errors import CorruptDataError, NotFoundError

BOX = {"type": "Box", "dtype": "float32", "shape": [2], "low": [-1.0, -1.0], "high": [1.0, 1.0]}


def write_minari(directory, *, dict_obs=False, drop=None, episodes=((3, True), (2, False))):
    """A Minari dataset: episode i has T_i steps, observations 10*i + k (k = 0..T)."""
    data = directory / "data"
    data.mkdir(parents=True)
    obs_space = ({"type": "Dict", "subspaces": {
        "b": {"type": "Box", "dtype": "float64", "shape": [1], "low": [0], "high": [9]},
        "a": {"type": "Box", "dtype": "float64", "shape": [2], "low": [0, 0],
              "high": [9, 9]}}} if dict_obs else
                 {"type": "Box", "dtype": "float32", "shape": [3], "low": [-np.inf] * 3,
                  "high": [np.inf] * 3})
    meta = {"dataset_id": "toy/pointmass-v0", "total_episodes": len(episodes),
            "total_steps": sum(t for t, _ in episodes), "data_format": "hdf5",
            "observation_space": json.dumps(obs_space), "action_space": json.dumps(BOX),
            "env_spec": json.dumps({"id": "PointMaze-v3"}), "minari_version": "0.5.4",
            "ref_min_score": -5.0, "ref_max_score": 5.0}
    (data / "metadata.json").write_text(json.dumps(meta))
    with h5py.File(data / "main_data.hdf5", "w", track_order=True) as f:
        for i, (t, terminated) in enumerate(episodes):
            g = f.create_group(f"episode_{i}")
            g.attrs.update({"id": i, "total_steps": t, "seed": 7})
            steps = 10.0 * i + np.arange(t + 1)
            if dict_obs:
                o = g.create_group("observations")
                o.create_dataset("a", data=np.stack([steps, -steps], 1))
                o.create_dataset("b", data=steps[:, None] * 2)
            else:
                g.create_dataset("observations", data=np.stack([steps] * 3, 1).astype(np.float32))
            g.create_dataset("actions", data=np.full((t, 2), 0.5 - i, np.float32))
            g.create_dataset("rewards", data=np.arange(t, dtype=np.float64) + i)
            g.create_dataset("terminations", data=np.arange(t) == t - 1 if terminated
                             else np.zeros(t, bool))
            g.create_dataset("truncations", data=np.zeros(t, bool) if terminated
                             else np.arange(t) == t - 1)
            g.create_group("infos").create_dataset("success", data=np.zeros(t + 1, bool))
            for key in drop or ():
                del g[key]
    return meta


def test_minari_episodes_map_one_to_one(tmp_path):
    write_minari(tmp_path / "ds")
    source = uri.open_source(f"minari:{tmp_path / 'ds'}")
    assert isinstance(source, MinariSource) and source.name == "toy/pointmass-v0"
    task = source.task
    assert task.id == "imported/toy_pointmass_v0" and task.env_id == "PointMaze-v3"
    assert task.action.minimum == (-1.0, -1.0) and task.max_episode_steps == 3
    assert source.metadata["ref_min_score"] == -5.0
    data = S.materialize(source, tmp_path / "store").transitions()
    np.testing.assert_array_equal(data.observation[:, 0], [0, 1, 2, 10, 11])
    np.testing.assert_array_equal(data.next_observation[:, 0], [1, 2, 3, 11, 12])
    np.testing.assert_array_equal(data.action[:, 0], [0.5, 0.5, 0.5, -0.5, -0.5])
    np.testing.assert_array_equal(data.reward, [0, 1, 2, 1, 2])
    np.testing.assert_array_equal(data.discount, [1, 1, 0, 1, 1])
    np.testing.assert_array_equal(data.truncated, [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(data.episode_id, [0, 0, 0, 1, 1])


def test_minari_dict_observations_flatten_in_sorted_key_order(tmp_path):
    write_minari(tmp_path / "ds", dict_obs=True)
    source = MinariSource(tmp_path / "ds")
    assert source.task.observation_keys == (("a", (2,)), ("b", (1,)))
    data = S.materialize(source, tmp_path / "store").transitions()
    np.testing.assert_array_equal(data.observation[1], [1, -1, 2])


def test_minari_ids_are_found_under_the_datasets_path(tmp_path, monkeypatch):
    write_minari(tmp_path / "root" / "toy" / "pointmass-v0")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "root"))
    store = imported.import_source(uri.open_source("minari:toy/pointmass-v0"), "pm",
                                   tmp_path / "data")
    assert store.num_transitions == 5
    with pytest.raises(NotFoundError, match="no Minari dataset at toy/other-v0"):
        uri.open_source("minari:toy/other-v0")


def test_minari_missing_fields_are_named(tmp_path):
    write_minari(tmp_path / "ds", drop=("truncations",))
    with pytest.raises(CorruptDataError, match=r"main_data\.hdf5: episode_0: missing field\(s\) "
                                               r"\['truncations'\]"):
        list(MinariSource(tmp_path / "ds").iter_episodes())
    (tmp_path / "ds" / "data" / "main_data.hdf5").write_bytes(b"garbage")
    with pytest.raises(CorruptDataError, match="unreadable HDF5"):
        MinariSource(tmp_path / "ds")

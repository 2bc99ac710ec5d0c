"""RLDS datasets prepared with TFDS, read as a `Source` (TensorFlow imported lazily)."""

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.data import imported, loader, sources_rlds, uri
from rl_unplugged.errors import NotFoundError


def test_tfds_source_equals_the_raw_log_store(tiny_built, tmp_path):
    name, root, _ = tiny_built
    source = uri.open_source(f"tfds:{name}", data_dir=root)
    assert isinstance(source, sources_rlds.TFDSSource)
    assert source.task == registry.get_dataset(name).task
    ids = [e.metadata["episode_id"] for e in source.iter_episodes()]
    assert ids == sorted(ids)  # Logged order, not tfds's shuffled one.
    store = imported.import_source(source, "from_tfds", tmp_path / "data")
    expected = loader.load_transitions(name, root, cache_dir=tmp_path / "cache")
    for field in expected._fields:
        np.testing.assert_array_equal(getattr(store.transitions(), field),
                                      getattr(expected, field), err_msg=field)


def test_a_users_own_rlds_dataset_gets_an_adhoc_task(tiny_built, tmp_path, monkeypatch):
    name, root, _ = tiny_built
    monkeypatch.setattr(sources_rlds, "_registered_task", lambda _: None)
    source = uri.open_source(f"tfds:{name}:train", data_dir=root)
    task = registry.get_dataset(name).task
    assert source.task.id == "imported/rlu_bsuite_catch_noise10_run0"
    assert source.task.observation == task.observation
    assert source.task.action == task.action  # From the ClassLabel of the action feature.
    store = imported.import_source(source, "own", tmp_path / "data")
    expected = loader.load_transitions(name, root, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(store.transitions().action, expected.action)
    assert imported.store_task(store) == source.task


def test_unprepared_tfds_datasets_are_named(tmp_path):
    with pytest.raises(NotFoundError, match="rlu_bsuite/catch_noise0_run0 is not prepared"):
        uri.open_source("tfds:rlu_bsuite/catch_noise0_run0", data_dir=tmp_path)

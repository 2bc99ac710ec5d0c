"""The store: written once by `materialize`, read as transitions and as episodes."""

import dataclasses

import numpy as np
import pytest

from rl_unplugged import fileio, paths
from rl_unplugged.data import fields as F
from rl_unplugged.data import loader
from rl_unplugged.data import store as S
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.data.sources import RawLogSource
from rl_unplugged.errors import CorruptDataError, IncompatibleError
from rl_unplugged.specs import ArraySpec
from tests.data.fakes import CARTPOLE, CONTINUOUS, DICT_OBS, ListSource, make_episodes
from tests.data.test_loader import SPEC, write_log


def test_store_of_a_raw_log_equals_the_direct_conversion(tmp_path):
    write_log(tmp_path)
    source = RawLogSource.from_spec(SPEC, tmp_path)
    written = S.materialize(source, tmp_path / "store")
    store = S.open_store(tmp_path / "store")
    direct = loader.transitions_from_log(RawLog(paths.raw_dir(SPEC, tmp_path)))
    data = store.transitions()
    assert store.num_transitions == written.num_transitions == direct.size == 25
    for field, a, b in zip(data._fields, data, direct, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=field)
    assert data.action.dtype == np.int32 and data.reward.dtype == np.float32
    # Episodes 0, 2, 4 terminate; 1 and 3 hit the time limit: their last transition.
    np.testing.assert_array_equal(np.flatnonzero(data.truncated), [3 + 4 - 1, 12 + 6 - 1])
    assert store.source["fingerprint"] == source.fingerprint()


def test_manifest_lists_every_file_with_its_digest_and_size(tmp_path):
    write_log(tmp_path)
    store = S.materialize(RawLogSource.from_spec(SPEC, tmp_path), tmp_path / "store")
    names = {p.name for p in (tmp_path / "store").iterdir()} - {S.MANIFEST}
    assert set(store.manifest["files"]) == names
    assert {f"{f}.npy" for f in data_fields()} <= names
    for name, entry in store.manifest["files"].items():
        path = tmp_path / "store" / name
        assert entry["sha256"] == fileio.sha256_file(path)
        assert entry["size"] == path.stat().st_size


def data_fields():
    from rl_unplugged.data.transitions import Transitions

    return Transitions._fields


def test_episode_index_slices_transitions_and_returns_are_float64(tmp_path):
    write_log(tmp_path)
    store = S.materialize(RawLogSource.from_spec(SPEC, tmp_path), tmp_path / "store")
    index, data = store.episodes(), store.transitions()
    raw = RawLog(paths.raw_dir(SPEC, tmp_path)).episodes_table()
    np.testing.assert_array_equal(index.episode_id, np.arange(5))
    np.testing.assert_array_equal(index.start, [0, 3, 7, 12, 18])
    np.testing.assert_array_equal(index.length, [3, 4, 5, 6, 7])
    np.testing.assert_array_equal(index.terminated, [True, False, True, False, True])
    assert index.episode_return.dtype == np.float64
    np.testing.assert_array_equal(index.episode_return, raw[F.EPISODE_RETURN])
    for i in range(index.num_episodes):
        part = index.slice(i)
        assert set(data.episode_id[part]) == {i}
        np.testing.assert_allclose(data.reward[part].astype(np.float64).sum(),
                                   index.episode_return[i], rtol=1e-6)


def test_episodes_rebuilt_from_the_store_equal_the_logged_ones(tmp_path):
    write_log(tmp_path)
    rebuilt = list(loader.load_episodes(SPEC, tmp_path))
    logged = list(RawLog(paths.raw_dir(SPEC, tmp_path)).iter_episodes())
    assert len(rebuilt) == len(logged) == 5
    for a, b in zip(rebuilt, logged, strict=True):
        for key in F.STEP_FIELDS:
            np.testing.assert_array_equal(a.steps[key], b.steps[key], err_msg=key)
        for key in (F.EPISODE_ID, F.EPISODE_RETURN, F.EPISODE_LENGTH):
            assert a.metadata[key] == b.metadata[key]


def test_continuous_actions_are_stored_as_float32_vectors(tmp_path):
    episodes = make_episodes(CONTINUOUS, [3, 2, 4])
    store = S.materialize(ListSource(CONTINUOUS, episodes), tmp_path / "store")
    data = store.transitions()
    assert data.action.shape == (9, 2) and data.action.dtype == np.float32
    np.testing.assert_array_equal(data.action[3:5], episodes[1].steps[F.ACTION][:2])
    assert store.manifest["action"]["kind"] == "continuous"
    rebuilt = list(store.iter_episodes())
    np.testing.assert_array_equal(rebuilt[2].steps[F.ACTION], episodes[2].steps[F.ACTION])


def test_dict_observations_are_stored_flat_in_registered_order(tmp_path):
    episodes = make_episodes(DICT_OBS, [2, 3])
    data = S.materialize(ListSource(DICT_OBS, episodes), tmp_path / "store").transitions()
    obs = episodes[0].steps[F.OBSERVATION]
    np.testing.assert_array_equal(data.observation[0],
                                  np.concatenate([obs["position"][0], obs["velocity"][0]]))
    np.testing.assert_array_equal(data.next_observation[1],
                                  np.concatenate([obs["position"][2], obs["velocity"][2]]))


def broken_source(task, change):
    episodes = make_episodes(task, [3, 3, 3, 3])
    change(episodes[2].steps)
    return ListSource(task, episodes)


@pytest.mark.parametrize("task, change, message", [
    (CONTINUOUS, lambda s: s[F.ACTION].__setitem__((1, 1), 2.5), "actions outside"),
    (CARTPOLE, lambda s: s[F.ACTION].__setitem__(0, 2), "actions outside [0, 2) on steps [0]"),
    (CARTPOLE, lambda s: s[F.OBSERVATION].__setitem__((2, 1), np.nan),
     "observation holds NaN on steps [2]"),
])
def test_nonconforming_episodes_are_refused_by_name(tmp_path, task, change, message):
    with pytest.raises(CorruptDataError, match=r"episode 2: ") as err:
        S.materialize(broken_source(task, change), tmp_path / "store")
    assert message in str(err.value) and "memory://test/list" in str(err.value)
    assert not (tmp_path / "store").exists()


def test_observations_of_another_shape_are_refused(tmp_path):
    task = dataclasses.replace(CARTPOLE, observation=ArraySpec(shape=(5,), dtype="float32"))
    wrong = ListSource(task, make_episodes(CARTPOLE, [2]))
    with pytest.raises(IncompatibleError, match=r"shape \(4,\).*needs \(5,\)"):
        S.materialize(wrong, tmp_path / "store")


def test_count_disagreeing_with_the_source_is_refused(tmp_path):
    class Short(ListSource):
        @property
        def metadata(self):
            return {"num_transitions": 99}

    with pytest.raises(CorruptDataError, match="5 transitions read, its manifest says 99"):
        S.materialize(Short(CARTPOLE, make_episodes(CARTPOLE, [2, 3])), tmp_path / "store")


def test_episodes_without_ids_are_refused_by_name(tmp_path):
    episodes = make_episodes(CARTPOLE, [2, 3])
    for ep in episodes:
        del ep.metadata[F.EPISODE_ID]
    with pytest.raises(CorruptDataError, match="has no episode_id"):
        S.materialize(ListSource(CARTPOLE, episodes), tmp_path / "store")

"""RL Unplugged's original Atari and DM Control Suite files, written here in their exact
schema with TensorFlow, read back through the door: every field, the alignment, errors."""

import gzip

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.data import rlu_originals, uri
from rl_unplugged.data import store as S
from rl_unplugged.data.rlu_originals import AtariSource
from rl_unplugged.data.rlu_originals_sequences import ControlSuiteSource
from rl_unplugged.errors import CorruptDataError, NotFoundError, UnknownNameError

tf = pytest.importorskip("tensorflow")


def _bytes(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.ravel(values).tolist()))


def _write(path, examples, compression="GZIP"):
    with tf.io.TFRecordWriter(str(path), options=compression) as w:
        for features in examples:
            w.write(tf.train.Example(features=tf.train.Features(feature=features))
                    .SerializeToString())


def _stack(rng):
    return rng.integers(0, 256, size=(84, 84, 4), dtype=np.uint8)


def _pngs(stack):
    return [tf.io.encode_png(stack[:, :, i:i + 1]).numpy() for i in range(4)]


# Episodes in file order: (episode_id uint64, terminal on the last row?, rows).
ATARI = ((2**63 + 5, True, 3), (7, False, 2), (9, True, 2))
ATARI_FILES = (5, 2)  # Rows per file: episode 9 alone in the second.


def write_atari(root, drop=(), compression="GZIP", episodes=ATARI, per_file=ATARI_FILES):
    """Writes `episodes`' rows, cut into files of `per_file` rows; returns (id, terminal,
    stacks o_0..o_T) per episode (action k % 3, reward k - 1, episode_return = rows)."""
    rng = np.random.default_rng(0)
    game = root / "Pong"
    game.mkdir(parents=True, exist_ok=True)
    expected, examples = [], []
    for eid, terminal, length in episodes:
        stacks = [_stack(rng) for _ in range(length + 1)]
        for k in range(length):
            row = {"o_t": _bytes(_pngs(stacks[k])), "o_tp1": _bytes(_pngs(stacks[k + 1])),
                   "a_t": _ints([k % 3]), "a_tp1": _ints([(k + 1) % 3]),
                   "r_t": _floats([k - 1.0]),
                   "d_t": _floats([0.0 if terminal and k == length - 1 else 1.0]),
                   "episode_id": _ints([np.uint64(eid).view(np.int64)]),
                   "episode_return": _floats([float(length)])}
            examples.append({key: v for key, v in row.items() if key not in drop})
        expected.append((eid, terminal, stacks))
    assert sum(per_file) == len(examples)
    for i, stop in enumerate(np.cumsum(per_file)):
        _write(game / f"run_1-{i:05d}-of-{len(per_file):05d}",
               examples[stop - per_file[i]:stop], compression)
    return expected


def assert_atari_store(data, expected):
    """Store transitions `data` hold the `write_atari` episodes `expected`, ids 0..E-1."""
    rows = 0
    for i, (_, terminal, stacks) in enumerate(expected):
        n = len(stacks) - 1
        part = slice(rows, rows + n)
        np.testing.assert_array_equal(data.observation[part], np.stack(stacks[:-1]))
        np.testing.assert_array_equal(data.next_observation[part], np.stack(stacks[1:]))
        np.testing.assert_array_equal(data.action[part], np.arange(n) % 3)
        np.testing.assert_array_equal(data.reward[part], np.arange(n) - 1.0)
        np.testing.assert_array_equal(data.discount[part][-1], 0.0 if terminal else 1.0)
        np.testing.assert_array_equal(data.discount[part][:-1], 1.0)
        np.testing.assert_array_equal(data.truncated[part], np.arange(n) == (
            -1 if terminal else n - 1))
        np.testing.assert_array_equal(data.episode_id[part], i)
        np.testing.assert_array_equal(data.step[part], np.arange(n))
        rows += n
    assert data.size == rows


@pytest.mark.parametrize("batch", [256, 2], ids=["one_batch", "episodes_straddle_batches"])
def test_atari_rows_become_episodes_with_every_field(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(rlu_originals, "BATCH", batch)
    expected = write_atari(tmp_path)
    source = uri.open_source(f"rlu-gcs:{tmp_path / 'Pong' / 'run_1'}")
    assert isinstance(source, AtariSource) and source.name == "rlu_atari/Pong_run_1"
    assert source.task.observation.shape == (84, 84, 4) and source.task.num_actions == 18
    store = S.materialize(source, tmp_path / "store")
    data = store.transitions()
    assert data.observation.dtype == np.uint8 and data.size == 7
    assert_atari_store(data, expected)
    index = store.episodes()
    np.testing.assert_array_equal(index.metadata["source_episode_id"].view(np.uint64),
                                  [2**63 + 5, 7, 9])
    np.testing.assert_array_equal(index.metadata["source_episode_return"], [3, 2, 2])
    # Episode 7 ends without d_t = 0 and the next row is episode 9's: reported truncated.
    report = store.source["metadata"]
    assert (report["truncated_episodes"], report["truncated_episode_ids"],
            report["broken_episodes"]) == (1, [7], 0)


@pytest.mark.parametrize("batch", [256, 1], ids=["one_batch", "one_row_batches"])
def test_atari_episode_across_shards_comes_back_whole(tmp_path, monkeypatch, batch):
    # Files of 1, 2 and 3 rows: episode 2**63 + 1 (4 rows) spans all three files.
    monkeypatch.setattr(rlu_originals, "BATCH", batch)
    expected = write_atari(tmp_path, episodes=((2**63 + 1, True, 4), (4, True, 2)),
                           per_file=(1, 2, 3))
    source = AtariSource(str(tmp_path / "Pong" / "run_1"))
    episodes = list(source.iter_episodes())
    assert [e.num_transitions for e in episodes] == [4, 2]
    assert all(e.steps["is_terminal"][-1] for e in episodes)
    ids = np.array([e.metadata["source_episode_id"] for e in episodes], np.int64)
    np.testing.assert_array_equal(ids.view(np.uint64), [2**63 + 1, 4])
    assert source.metadata["truncated_episodes"] == 0
    assert_atari_store(S.materialize(source, tmp_path / "store").transitions(), expected)


def test_atari_incomplete_episodes_are_truncated_and_reported(tmp_path):
    # The run's last episode (id 2**64 - 1, over both files) lacks its end (no d_t = 0).
    expected = write_atari(tmp_path / "a", episodes=((3, True, 2), (2**64 - 1, False, 3)),
                           per_file=(3, 2))
    source = AtariSource(str(tmp_path / "a" / "Pong" / "run_1"))
    assert "truncated_episodes" not in source.metadata  # Not known before a full pass.
    store = S.materialize(source, tmp_path / "store_a")
    assert_atari_store(store.transitions(), expected)  # Every row kept, last one truncated.
    report = store.source["metadata"]
    assert (report["truncated_episodes"], report["truncated_episode_ids"],
            report["broken_episodes"]) == (1, [2**64 - 1], 0)
    # Rows of id 5 that do not chain (rows missing between them): two pieces, the first
    # truncated, with store ids 0 and 1; every row kept; one broken episode reported.
    expected = write_atari(tmp_path / "b", episodes=((5, False, 2), (5, True, 2)),
                           per_file=(2, 2))
    source = AtariSource(str(tmp_path / "b" / "Pong" / "run_1"))
    store = S.materialize(source, tmp_path / "store_b")
    assert_atari_store(store.transitions(), expected)
    np.testing.assert_array_equal(store.episodes().metadata["source_episode_id"], [5, 5])
    assert (source.metadata["truncated_episodes"], source.metadata["broken_episodes"]) == (1, 1)


def test_atari_damaged_shards_name_the_file_and_field(tmp_path):
    write_atari(tmp_path, drop=("r_t",))
    source = AtariSource(str(tmp_path / "Pong" / "run_1"))
    with pytest.raises(CorruptDataError, match=r"run_1-00000-of-00002: field 'r_t'"):
        list(source.iter_episodes())
    write_atari(tmp_path, compression="")  # Written uncompressed, read as GZIP.
    with pytest.raises(CorruptDataError, match=r"run_1-00000-of-00002: corrupted or truncated"):
        list(AtariSource(str(tmp_path / "Pong" / "run_1")).iter_episodes())
    write_atari(tmp_path)
    shard = tmp_path / "Pong" / "run_1-00001-of-00002"
    shard.write_bytes(gzip.compress(gzip.decompress(shard.read_bytes())[:-100]))
    with pytest.raises(CorruptDataError, match=r"run_1-00001-of-00002: corrupted or truncated"):
        list(AtariSource(str(tmp_path / "Pong" / "run_1")).iter_episodes())
    shard.unlink()
    with pytest.raises(CorruptDataError, match=r"shards \[1\] of 2 are missing"):
        AtariSource(str(tmp_path / "Pong" / "run_1"))
    with pytest.raises(NotFoundError, match="no RL Unplugged shards"):
        AtariSource(str(tmp_path / "Breakout" / "run_1"))


def _window(obs, actions, rewards, discounts, step_types, drop=()):
    spec = registry.get_original_task("cartpole_swingup")
    features = {f"observation/{k}": _floats([o[k] for o in obs]) for k, _ in
                spec.observation_keys}
    features.update({"action": _floats(actions), "reward": _floats(rewards),
                     "discount": _floats(discounts), "episodic_reward": _floats([0, 0]),
                     "step_type": _floats(step_types)})
    return {k: v for k, v in features.items() if k not in drop}


def _obs(t):
    return {"position": np.array([t, t + 0.5, -t], np.float32),
            "velocity": np.array([10 * t, -10 * t], np.float32)}


def write_control(root, drop=()):
    """Episode A: steps 0..3 as chained windows (3 transitions, time limit); episode B:
    steps 10..11, terminated (discount 0)."""
    d = root / "dm_control_suite" / "cartpole_swingup"
    d.mkdir(parents=True, exist_ok=True)
    windows = [_window([_obs(t), _obs(t + 1)], [[0.1 * t], [0.1 * t + 0.1]], [t, t + 1],
                       [1, 1], [0 if t == 0 else 1, 2 if t == 2 else 1], drop)
               for t in range(3)]
    windows.append(_window([_obs(10), _obs(11)], [[-0.5], [0.0]], [5, 0], [0, 1], [0, 2], drop))
    _write(d / "train-00000-of-00001", windows)
    return d


def test_control_suite_sequences_chain_into_episodes(tmp_path):
    d = write_control(tmp_path)
    source = uri.open_source(f"rlu-gcs:{d}")
    assert isinstance(source, ControlSuiteSource)
    assert source.task.observation_keys == (("position", (3,)), ("velocity", (2,)))
    assert source.task.action.shape == (1,) and source.task.action.minimum == (-1.0,)
    data = S.materialize(source, tmp_path / "store").transitions()
    flat = [np.concatenate([_obs(t)["position"], _obs(t)["velocity"]]) for t in range(12)]
    np.testing.assert_array_equal(data.observation, np.stack([flat[0], flat[1], flat[2],
                                                              flat[10]]))
    np.testing.assert_array_equal(data.next_observation, np.stack([flat[1], flat[2], flat[3],
                                                                   flat[11]]))
    np.testing.assert_allclose(data.action[:, 0], [0.0, 0.1, 0.2, -0.5])
    np.testing.assert_array_equal(data.reward, [0, 1, 2, 5])  # reward[0] of each sequence.
    np.testing.assert_array_equal(data.discount, [1, 1, 1, 0])
    np.testing.assert_array_equal(data.truncated, [0, 0, 1, 0])
    np.testing.assert_array_equal(data.episode_id, [0, 0, 0, 1])


def test_control_suite_errors_name_the_file_and_field(tmp_path):
    d = write_control(tmp_path, drop=("reward",))
    with pytest.raises(CorruptDataError, match=r"train-00000-of-00001: field 'reward' missing"):
        list(ControlSuiteSource(str(d)).iter_episodes())
    write_control(tmp_path)
    shard = d / "train-00000-of-00001"
    shard.write_bytes(shard.read_bytes()[:-20])
    with pytest.raises(CorruptDataError, match=r"train-00000-of-00001: corrupted or truncated"):
        list(ControlSuiteSource(str(d)).iter_episodes())
    with pytest.raises(UnknownNameError, match="did you mean fish_swim"):
        uri.open_source(f"rlu-gcs:{tmp_path / 'dm_control_suite' / 'fish_swims'}")


def test_fish_swim_has_one_registered_shape():
    spec = registry.get_original_task("fish_swim")
    assert dict(spec.observation_keys) == {"target": (3,), "velocity": (13,), "upright": (1,),
                                           "joint_angles": (7,)}
    assert spec.action_shape == (5,) and spec.observation_size == 24


def write_rwrl(root, *, terminate_at=None, drop=(), length=1001):
    """Two RWRL episodes (uncompressed, one tf.Example each): observation:position (2),
    observation:velocity (1), action (1), reward, discount; step k's values known."""
    d = root / "combined_challenge_easy" / "cartpole" / "realworld_swingup" / \
        "offline_rl_challenge_easy"
    d.mkdir(parents=True, exist_ok=True)
    examples = []
    for e in range(2):
        k = np.arange(length, dtype=np.float32)
        discount = np.ones(length, np.float32)
        if terminate_at is not None and e == 1:
            discount[terminate_at] = 0.0
        features = {"observation:position": _floats(np.stack([k + e, -k], 1)),
                    "observation:velocity": _floats(k / 10),
                    "action": _floats(np.tanh(k / 500 - e)), "reward": _floats(k / 1000),
                    "discount": _floats(discount)}
        examples.append({key: v for key, v in features.items() if key not in drop})
    _write(d / "episodes.tfrecord-00000-of-00001", examples, compression="")
    return d


def test_rwrl_episodes_shift_actions_rewards_and_discounts(tmp_path):
    d = write_rwrl(tmp_path, terminate_at=4)
    source = uri.open_source(f"rlu-gcs:{d}")
    assert source.name == ("rlu_rwrl/combined_challenge_easy_cartpole_realworld_swingup_"
                           "offline_rl_challenge_easy")
    assert source.task.observation_keys == (("position", (2,)), ("velocity", (1,)))
    assert source.task.action.minimum == (-1.0,)
    data = S.materialize(source, tmp_path / "store").transitions()
    assert data.size == 1000 + 4
    k = np.arange(1000, dtype=np.float32)
    np.testing.assert_allclose(data.observation[:1000], np.stack([k, -k, k / 10], 1))
    np.testing.assert_allclose(data.next_observation[:1000, 0], k + 1)
    np.testing.assert_allclose(data.action[:1000, 0], np.tanh((k + 1) / 500), rtol=1e-6)
    np.testing.assert_allclose(data.reward[:1000], (k + 1) / 1000, rtol=1e-6)
    assert data.truncated[999] and data.discount[999] == 1.0
    # Episode 2: discount[4] = 0 ends it after the transition from o_3 (4 transitions).
    np.testing.assert_array_equal(data.discount[1000:], [1, 1, 1, 0])
    np.testing.assert_allclose(data.observation[1000:, 0], np.arange(4) + 1)
    np.testing.assert_array_equal(data.episode_id[1000:], 1)


def test_rwrl_bad_episodes_name_the_file_and_field(tmp_path):
    d = write_rwrl(tmp_path, drop=("reward",))
    with pytest.raises(CorruptDataError, match=r"00000-of-00001: episode 0 lacks field\(s\) "
                                               r"\['reward'\]"):
        uri.open_source(f"rlu-gcs:{d}")
    d = write_rwrl(tmp_path, length=1000)
    with pytest.raises(CorruptDataError, match=r"field 'action' of episode 0 has 1000 values"):
        uri.open_source(f"rlu-gcs:{d}")

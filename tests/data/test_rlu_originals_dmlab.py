"""RL Unplugged's DMLab files, written here in their exact schema (PNG pixels stored
BGR), read back through the door: every field, the alignment, RGB, and errors."""

import gzip

import numpy as np
import pytest

from rl_unplugged.data import store as S
from rl_unplugged.data import uri
from rl_unplugged.data.rlu_originals_dmlab import DMLabSource
from rl_unplugged.errors import CorruptDataError, UnknownNameError
from tests.data.test_rlu_originals import _bytes, _floats, _ints, _write

tf = pytest.importorskip("tensorflow")

TASK, LENGTH = "rooms_select_nonmatching_object", 181


def _rgb(e, k):
    """Episode e's frame k (RGB): red = k, green = e, blue = 200 - k, a row ramp."""
    frame = np.zeros((72, 96, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = k, 7 * e, 200 - k
    frame[:, :, 1] += np.arange(72, dtype=np.uint8)[:, None]
    return frame


def _actions(e):
    return (np.arange(LENGTH) * (e + 2)) % 15


def _rewards(e):
    return ((np.arange(LENGTH) % 7 == 3) * (e + 1)).astype(np.float32)


def write_dmlab(root, *, drop=(), compression="GZIP", break_previous_action=False):
    """Episodes 0 and 1 (1 ends terminated: discounts[L - 2] = 0) in shard 0, episode 2 in
    shard 1; pixels PNG-encoded from BGR frames, as OpenCV's imencode wrote them."""
    d = root / "dmlab" / TASK / "training_0"
    d.mkdir(parents=True, exist_ok=True)
    examples = []
    for e in range(3):
        actions, rewards = _actions(e), _rewards(e)
        one_hot = np.eye(15, dtype=np.float32)[np.concatenate([[5], actions[:-1]])]
        if break_previous_action and e == 2:
            one_hot[10] = np.eye(15)[(actions[9] + 1) % 15]
        discounts = np.ones(LENGTH, np.float32)
        if e == 1:
            discounts[LENGTH - 2:] = 0.0
        features = {
            "episode_id": _ints([1000 + e]), "start_idx": _ints([0]),
            "episode_return": _floats([rewards[:-1].sum()]),
            "observations_pixels": _bytes([tf.io.encode_png(_rgb(e, k)[..., ::-1]).numpy()
                                           for k in range(LENGTH)]),
            "observations_reward": _floats(np.concatenate([[9.0], rewards[:-1]])),
            "observations_action": _floats(one_hot), "actions": _ints(actions.tolist()),
            "rewards": _floats(rewards), "discounts": _floats(discounts),
            "discounted_rewards": _floats(np.zeros(LENGTH))}
        examples.append({k: v for k, v in features.items() if k not in drop})
    _write(d / "tfrecord-00000-of-00002", examples[:2], compression)
    _write(d / "tfrecord-00001-of-00002", examples[2:], compression)
    return d


def test_dmlab_episodes_with_rgb_pixels_and_every_field(tmp_path):
    d = write_dmlab(tmp_path)
    source = uri.open_source(f"rlu-gcs:{d}")
    assert isinstance(source, DMLabSource)
    assert source.name == f"rlu_dmlab/{TASK}_training_0"
    assert source.task.observation.shape == (72, 96, 3) and source.task.num_actions == 15
    store = S.materialize(source, tmp_path / "store")
    data = store.transitions()
    n = LENGTH - 1
    assert data.size == 3 * n and data.observation.dtype == np.uint8
    for e in range(3):
        part = slice(e * n, (e + 1) * n)
        np.testing.assert_array_equal(data.observation[part],
                                      np.stack([_rgb(e, k) for k in range(n)]))
        np.testing.assert_array_equal(data.next_observation[part],
                                      np.stack([_rgb(e, k) for k in range(1, LENGTH)]))
        np.testing.assert_array_equal(data.action[part], _actions(e)[:-1])
        np.testing.assert_array_equal(data.reward[part], _rewards(e)[:-1])
        np.testing.assert_array_equal(data.discount[part], [1] * (n - 1) + [0 if e == 1 else 1])
        np.testing.assert_array_equal(data.truncated[part][-1], e != 1)
        np.testing.assert_array_equal(data.episode_id[part], e)
    index = store.episodes()
    np.testing.assert_array_equal(index.metadata["source_episode_id"], [1000, 1001, 1002])
    np.testing.assert_array_equal(index.metadata["source_start_idx"], [0, 0, 0])
    np.testing.assert_allclose(index.metadata["source_episode_return"],
                               [_rewards(e)[:-1].sum() for e in range(3)])


def test_dmlab_errors_name_the_file_and_field(tmp_path):
    d = write_dmlab(tmp_path, drop=("rewards",))
    with pytest.raises(CorruptDataError, match=r"tfrecord-00000-of-00002: field 'rewards'"):
        list(DMLabSource(str(d)).iter_episodes())
    d = write_dmlab(tmp_path, break_previous_action=True)
    with pytest.raises(CorruptDataError, match=r"tfrecord-00001-of-00002: field "
                                               r"'observations_action' of episode 1002 at "
                                               r"step 10 is not actions\[9\]"):
        list(DMLabSource(str(d)).iter_episodes())
    d = write_dmlab(tmp_path, compression="")
    with pytest.raises(CorruptDataError, match=r"tfrecord-00000-of-00002: corrupted or truncated"):
        list(DMLabSource(str(d)).iter_episodes())
    d = write_dmlab(tmp_path)
    shard = d / "tfrecord-00001-of-00002"
    shard.write_bytes(gzip.compress(gzip.decompress(shard.read_bytes())[:-300]))
    with pytest.raises(CorruptDataError, match=r"tfrecord-00001-of-00002: corrupted or truncated"):
        list(DMLabSource(str(d)).iter_episodes())
    with pytest.raises(UnknownNameError, match="did you mean rooms_watermaze"):
        uri.open_source(f"rlu-gcs:{tmp_path / 'dmlab' / 'rooms_watermaz' / 'training_0'}")

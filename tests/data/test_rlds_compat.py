"""rlds 0.1.6 on TF 2.21: the pin check and a few transformations on our datasets."""

import numpy as np
import pytest
import tensorflow as tf

from rl_unplugged.data import fields as F
from rl_unplugged.data import rlds_compat
from rl_unplugged.data.rlds_compat import rlds


def test_version_check_names_the_pin():
    assert rlds_compat.check_version() == "0.1.6"
    with pytest.raises(ImportError, match=r"rlds==0\.1\.6.*reverb|reverb.*rlds==0\.1\.6"):
        rlds_compat.check_version("0.1.8")


def _episodes(tiny_built):
    import tensorflow_datasets as tfds

    name, root, log = tiny_built
    ds = tfds.load(name, split="train", data_dir=str(root), shuffle_files=False)
    meta = log.episodes_table()
    return ds, meta


def test_sum_dataset_and_episode_length(tiny_built):
    ds, meta = _episodes(tiny_built)
    lengths = ds.map(lambda ep: rlds.transformations.episode_length(ep[F.STEPS]))
    # episode_length counts RLDS steps: T transitions + the final step.
    assert sorted(int(x) for x in lengths) == sorted(int(x) + 1 for x in meta[F.EPISODE_LENGTH])
    steps = ds.flat_map(lambda ep: ep[F.STEPS])
    total = rlds.transformations.sum_dataset(steps, lambda s: {F.REWARD: s[F.REWARD]})
    np.testing.assert_allclose(float(total[F.REWARD]), meta[F.EPISODE_RETURN].sum(), atol=1e-4)


def test_batch_shift_and_truncate(tiny_built):
    ds, _ = _episodes(tiny_built)
    episode = next(iter(ds))
    steps = episode[F.STEPS]
    n = int(rlds.transformations.episode_length(steps))
    pairs = list(rlds.transformations.batch(steps, size=2, shift=1, drop_remainder=True))
    assert len(pairs) == n - 1
    obs = np.stack([s[F.OBSERVATION].numpy() for s in steps])
    for i, pair in enumerate(pairs):  # (s_k, s_{k+1}) windows: the transitions.
        np.testing.assert_array_equal(pair[F.OBSERVATION].numpy(), obs[i:i + 2])
    shifted = list(rlds.transformations.shift_keys(steps, [F.REWARD], shift=1))
    rewards = np.array([s[F.REWARD].numpy() for s in steps])
    np.testing.assert_array_equal([s[F.REWARD].numpy() for s in shifted], rewards[1:])
    cut = rlds.transformations.truncate_after_condition(
        steps, lambda s: tf.equal(s[F.IS_LAST], True))
    assert int(rlds.transformations.episode_length(cut)) == n
    first_two = rlds.transformations.truncate_after_condition(
        steps, lambda s: tf.logical_not(s[F.IS_FIRST]))
    assert int(rlds.transformations.episode_length(first_two)) == 2

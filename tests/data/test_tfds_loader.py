"""The tfds loader and the TF-free loader give identical transitions."""

import numpy as np
import pytest

from rl_unplugged.data import fields as F
from rl_unplugged.data import loader, tfds_loader
from rl_unplugged.data import transitions as T


def test_tfds_and_tf_free_loaders_agree(tiny_built):
    name, root, log = tiny_built
    via_tfds = tfds_loader.load_transitions_tfds(name, root, batch_size=37)
    tf_free = loader.load_transitions(name, root)
    assert via_tfds.size == tf_free.size == log.num_transitions >= 200
    for field, a, b in zip(T.Transitions._fields, via_tfds, tf_free, strict=True):
        assert a.dtype == b.dtype, field
        np.testing.assert_array_equal(a, b, err_msg=field)
    assert np.all(np.diff(tf_free.episode_id) >= 0)


def test_steps_carry_extras_and_episode_ids(tiny_built):
    name, root, log = tiny_built
    steps = tfds_loader.load_steps_tfds(name, root)
    assert len(steps[F.REWARD]) == log.manifest["num_rows"]
    raw = {k: np.concatenate([log.shard_columns(i)[k] for i in range(len(log.manifest["shards"]))])
           for k in (F.GREEDY_ACTION, F.ACTION_REPLACED, F.EPISODE_ID)}
    for key, value in raw.items():
        np.testing.assert_array_equal(steps[key], value, err_msg=key)


def test_unknown_dataset_lists_close_names(tmp_path):
    with pytest.raises(KeyError, match="did you mean"):
        tfds_loader.load_transitions_tfds("rlu_bsuite/catch_noise10_run9", tmp_path)

"""What users of the built datasets read back: metadata, ClassLabel actions, logged order,
and the truncation flag of episodes."""

import json

import numpy as np
import tensorflow_datasets as tfds

from rl_unplugged import registry
from rl_unplugged.builders import base
from rl_unplugged.data import fields as F


def test_info_metadata_is_read_back(tiny_built):
    name, root, _ = tiny_built
    builder = tfds.builder(name, data_dir=str(root))
    meta = builder.info.metadata
    task = registry.get_dataset(name).task
    assert meta["task"] == "bsuite/catch" and meta["env_id"] == task.env_id
    assert meta["num_actions"] == 3 and meta["gamma"] == task.gamma
    assert meta["action_space"]["kind"] == "discrete" and meta["noise"] == 0.1
    refs = json.loads(base._REFERENCES.read_text())["tasks"]["bsuite/catch"]
    assert meta["normalisation_references"] == {"random": refs["random"]["value"],
                                                "expert": refs["expert"]["value"]}
    assert "T + 1 RLDS steps" in meta["episode_length"]
    # Read from the prepared directory, not from the code.
    restored = tfds.builder_from_directory(builder.data_dir).info.metadata
    assert restored["num_actions"] == 3
    action = builder.info.features[F.STEPS].feature[F.ACTION]
    assert isinstance(action, tfds.features.ClassLabel) and action.num_classes == 3


def test_episodes_come_in_logged_order_with_lengths_in_transitions(tiny_built):
    name, root, log = tiny_built
    ds = tfds.load(name, data_dir=str(root), split="train", shuffle_files=False)
    ids, lengths, steps, truncated = [], [], [], []
    for episode in ds:
        batch = next(iter(tfds.as_numpy(episode[F.STEPS].batch(10_000))))
        ids.append(int(episode[F.EPISODE_ID]))
        lengths.append(int(episode[F.EPISODE_LENGTH]))
        steps.append(len(batch[F.REWARD]))
        truncated.append(bool(batch[F.IS_LAST][-1] and not batch[F.IS_TERMINAL][-1]))
    logged = [e.metadata[F.EPISODE_ID] for e in log.iter_episodes()]
    assert ids == logged  # Unshuffled: the order the agent played them.
    np.testing.assert_array_equal(np.asarray(steps), np.asarray(lengths) + 1)
    assert truncated == [not any(e.steps[F.IS_TERMINAL]) for e in log.iter_episodes()]

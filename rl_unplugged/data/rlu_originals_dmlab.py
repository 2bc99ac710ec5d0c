"""RL Unplugged's DeepMind Lab files as a `Source` (`rlu-gcs:<root>/dmlab/<task>/<run>`).

Files `<root>/dmlab/<task>/<run>/tfrecord-<i:05d>-of-<N:05d>` (runs `training_<k>`,
`snapshot_<k>_eps_<e>`): GZIP TFRecords, one tf.Example per episode of L steps (L per
task in `registry.RLU_DMLAB`, e.g. 301 for seekavoid_arena_01), as the RL Unplugged
R2D2 colab and TFDS's `rlu_dmlab` builder parse them:

  episode_id, start_idx (int64), episode_return (float32)    one per episode
  observations_pixels   (L,) PNG strings, 72 x 96 x 3, channels stored BGR
  observations_action   (L, 15) float one-hot of the previous action
  observations_reward   (L,) float, the previous reward
  actions (L,) int64, rewards (L,), discounts (L,), discounted_rewards (L,) float

Alignment (the store's SAR steps): step k is (pixels[k], actions[k], rewards[k],
discounts[k]), acme's step order (the reward and discount that followed actions[k]), so
the episode has L - 1 transitions and pixels[L - 1] is its final observation (TFDS's
RLDS episodes likewise leave the last step's action and reward undefined). It ends
terminated when discounts[L - 2] is 0, else truncated (TFDS marks none terminal); a
zero discount earlier is an error.

Pixels: the files' PNGs were written by OpenCV's `imencode`, which takes BGR; decoded
as PNG they come out BGR, so the channels are reversed to RGB here (as TFDS's builder
does; the colab did not). Observations are the (72, 96, 3) uint8 RGB frames only:
`observations_action[k]` and `observations_reward[k]` are the previous step's action
and reward (checked: the one-hot's argmax equals actions[k - 1] and the reward equals
rewards[k - 1] for k >= 1; a mismatch is an error), so they are recoverable from the
store (zero at an episode's first step, where the files hold the previous episode's).
Not kept: the last step's action and reward (no transition uses them),
`discounted_rewards`. Episode metadata keeps `source_episode_id`, `source_start_idx`,
`source_episode_return`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from rl_unplugged import registry
from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.rlu_originals import _fingerprint, _read_errors, _signature, _tf, shard_files
from rl_unplugged.data.sources import Source
from rl_unplugged.errors import CorruptDataError
from rl_unplugged.specs import ActionSpec

PIXELS = (72, 96, 3)


class DMLabSource(Source):
    """RL Unplugged DMLab episodes of one task and run (module docstring)."""

    def __init__(self, directory: str):
        """Args: directory: `<root>/dmlab/<task>/<run>`.

        Raises: UnknownNameError: a task the registry does not list. NotFoundError: no
        shards."""
        self._dir = directory.rstrip("/")
        self._run = os.path.basename(self._dir)
        self._spec = registry.get_original_task(
            os.path.basename(os.path.dirname(self._dir)), "dmlab")
        self._files = shard_files(f"{self._dir}/tfrecord")
        task = adhoc.adhoc_task(
            f"rlu_dmlab_{self._spec.name}", observation_shape=PIXELS, observation_dtype="uint8",
            action=ActionSpec.discrete(self._spec.num_actions),
            max_episode_steps=self._spec.sequence_length - 1, env_id=f"dmlab/{self._spec.name}",
            description=f"RL Unplugged DMLab {self._spec.name} (original files, RGB)")
        super().__init__(name=f"rlu_dmlab/{self._spec.name}_{self._run}",
                         uri=f"rlu-gcs:{self._dir}", task=task)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": "rlu-dmlab-tfrecord", "task": self._spec.name, "run": self._run,
                "shards": len(self._files)}

    def fingerprint(self) -> str:
        return _fingerprint(self._files)

    def signature(self) -> dict[str, Any]:
        return _signature(self._files)

    def read_file(self, path: str) -> Iterator[dict[str, np.ndarray]]:
        """One shard's episodes: the features above, `pixels` decoded (L, 72, 96, 3) RGB."""
        tf = _tf()
        length, actions = self._spec.sequence_length, self._spec.num_actions

        def seq(shape, dtype=tf.float32):
            return tf.io.FixedLenFeature([length, *shape], dtype)

        spec = {"episode_id": tf.io.FixedLenFeature([], tf.int64),
                "start_idx": tf.io.FixedLenFeature([], tf.int64),
                "episode_return": tf.io.FixedLenFeature([], tf.float32),
                "observations_pixels": seq([], tf.string),
                "observations_reward": seq([]), "observations_action": seq([actions]),
                "actions": seq([], tf.int64), "rewards": seq([]), "discounts": seq([])}

        def parse(record):
            ex = tf.io.parse_single_example(record, spec)
            frames = tf.map_fn(lambda p: tf.io.decode_png(p, channels=3),
                               ex.pop("observations_pixels"),
                               fn_output_signature=tf.TensorSpec(PIXELS, tf.uint8))
            ex["pixels"] = tf.reverse(frames, axis=[-1])  # BGR -> RGB.
            return ex

        ds = tf.data.TFRecordDataset(path, compression_type="GZIP").map(
            parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
        try:
            yield from ds.as_numpy_iterator()
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            raise _read_errors(path, e) from None

    def _episode(self, path: str, ex: dict[str, np.ndarray], count: int) -> Episode:
        disc = ex["discounts"][:-1]
        bad = np.flatnonzero((disc != 0) & (disc != 1))
        early = np.flatnonzero(disc[:-1] == 0)
        if len(bad) or len(early):
            k = int(bad[0] if len(bad) else early[0])
            raise CorruptDataError(f"{path}: field 'discounts' of episode {ex['episode_id']} "
                                   f"holds {disc[k]} at step {k}; 0 only ends an episode")
        previous = np.argmax(ex["observations_action"][1:], axis=1)
        if not np.array_equal(previous, ex["actions"][:-1]):
            k = int(np.flatnonzero(previous != ex["actions"][:-1])[0]) + 1
            raise CorruptDataError(f"{path}: field 'observations_action' of episode "
                                   f"{ex['episode_id']} at step {k} is not actions[{k - 1}]")
        if not np.array_equal(ex["observations_reward"][1:], ex["rewards"][:-1]):
            k = int(np.flatnonzero(ex["observations_reward"][1:] != ex["rewards"][:-1])[0]) + 1
            raise CorruptDataError(f"{path}: field 'observations_reward' of episode "
                                   f"{ex['episode_id']} at step {k} is not rewards[{k - 1}]")
        return Episode.from_rollout(
            observations=ex["pixels"], actions=ex["actions"][:-1], rewards=ex["rewards"][:-1],
            terminated=bool(disc[-1] == 0),
            metadata={F.EPISODE_ID: count, "source_episode_id": int(ex["episode_id"]),
                      "source_start_idx": int(ex["start_idx"]),
                      "source_episode_return": float(ex["episode_return"])})

    def iter_episodes(self) -> Iterator[Episode]:
        count = 0
        for path in self._files:
            for ex in self.read_file(path):
                yield self._episode(path, ex, count)
                count += 1

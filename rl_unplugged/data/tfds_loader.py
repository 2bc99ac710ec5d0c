"""Loading the suite's RLDS datasets through tfds (imports TensorFlow, lazily).

`load_transitions_tfds` reads a prepared dataset with `tfds.load`, flattens its
steps in large batches (tf.data iteration from Python costs ~1 ms per batch, see
NOTES.md), concatenates the step columns and converts them with
`transitions.from_steps`, the same conversion the TF-free loader
(`rl_unplugged.data.loader.load_transitions`) uses: both give equal transitions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from rl_unplugged import paths, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data import transitions as T

BATCH_STEPS = 65_536


def _tf():
    import tensorflow as tf
    import tensorflow_datasets as tfds

    return tf, tfds


def load_steps_tfds(dataset: str, data_dir: str | os.PathLike | None = None, *,
                    split: str = "train", batch_size: int = BATCH_STEPS) -> dict[str, np.ndarray]:
    """Concatenated step columns of a prepared dataset, episodes in episode_id order.

    Each step also gets its episode's `episode_id`. The split's TFRecord files are
    parsed in batches of whole episodes with `tf.io.parse_example` (tfds's own
    per-episode decoding builds a nested tf.data.Dataset per episode, ~1 ms each,
    which dominates on short episodes such as catch's 10 steps); a batch holds about
    `batch_size` steps (episodes are padded to the longest in the batch, so at most
    `batch_size // (max_episode_steps + 1)` episodes are parsed together).

    Raises:
      KeyError: unknown dataset name (with close names).
      FileNotFoundError: the dataset is not prepared under the data root.
    """
    tf, tfds = _tf()
    from tensorflow_datasets.core import example_parser  # tfds 4.9.10 (pinned).

    spec = registry.get_dataset(dataset)
    root = str(paths.data_dir(data_dir))
    builder = tfds.builder(spec.name, data_dir=root)
    if not builder.is_prepared():
        raise FileNotFoundError(f"{spec.name} is not prepared under {root}; "
                                f"run `rlu datasets build {spec.name} --data-dir {root}`")
    features = builder.info.features
    flat_specs = example_parser.ExampleParser(features.get_serialized_info()).flat_feature_specs
    prefix = f"{F.STEPS}/"
    specs = {k: v for k, v in flat_specs.items()
             if k.startswith(prefix) or k == F.EPISODE_ID}
    # Every step field this builder declares (discrete and continuous tasks log different
    # extras); booleans and uint8 come back as int64 and are cast to the declared dtype.
    dtypes = {k: f.np_dtype for k, f in features[F.STEPS].feature.items()}

    def parse(records):
        example = tf.io.parse_example(records, specs)
        # Rows are zero-padded to the longest episode in the batch: each one ends at its
        # first is_last (found from the steps, not trusted from the metadata).
        lengths = tf.argmax(example[prefix + F.IS_LAST], axis=1) + 1
        out = {k[len(prefix):]: tf.RaggedTensor.from_tensor(v, lengths=lengths).flat_values
               for k, v in example.items() if k.startswith(prefix)}
        out[F.EPISODE_ID] = tf.repeat(example[F.EPISODE_ID], lengths)
        return out

    episodes_per_batch = max(1, batch_size // (spec.task.max_episode_steps + 1))
    files = [str(f) for f in builder.info.splits[split].filepaths]
    records = tf.data.TFRecordDataset(files).batch(episodes_per_batch)
    parts: dict[str, list[np.ndarray]] = {}
    for batch in tfds.as_numpy(records.map(parse).prefetch(2)):
        for key, value in batch.items():
            parts.setdefault(key, []).append(value)
    if not parts:
        raise ValueError(f"{spec.name} under {root} holds no steps")
    steps = {k: np.concatenate(v) for k, v in parts.items()}
    for key, dtype in dtypes.items():  # Booleans are serialized as int64.
        steps[key] = steps[key].astype(dtype, copy=False)
    # tfds writes episodes in a shuffled order: restore episode_id order (stable).
    order = np.argsort(steps[F.EPISODE_ID], kind="stable")
    if np.any(order != np.arange(len(order))):
        steps = {k: v[order] for k, v in steps.items()}
    return steps


def load_transitions_tfds(dataset: str, data_dir: str | os.PathLike | None = None, *,
                          split: str = "train", batch_size: int = BATCH_STEPS) -> T.Transitions:
    """Transitions of a prepared tfds dataset, equal to `loader.load_transitions`'s.

    Args:
      dataset: 'rlu_bsuite/catch_noise0_run0' (the builders must be registered, which
        `import rl_unplugged` does).
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      split: tfds split.
      batch_size: steps per tf.data batch (large: per-batch overhead dominates).
    """
    spec = registry.get_dataset(dataset)
    steps = load_steps_tfds(dataset, data_dir, split=split, batch_size=batch_size)
    return T.from_steps(steps, action=spec.task.action)


def load_episodes_tfds(dataset: str, data_dir: str | os.PathLike | None = None, *,
                       split: str = "train", batch_size: int = BATCH_STEPS
                       ) -> Iterator[tuple[dict[str, np.ndarray], dict]]:
    """(steps, metadata) per episode of a prepared dataset, in episode_id order.

    Reads steps and metadata in large batches, then slices episodes in memory
    (for inspection and conformance checks of whole datasets). Metadata values are
    Python scalars; `episode_return` holds the float32 the TFDS files store
    (tf.train.Example has no float64), where the raw log and the store keep float64.

    Raises:
      KeyError: unknown dataset name. FileNotFoundError: dataset not prepared there.
    """
    _, tfds = _tf()
    spec = registry.get_dataset(dataset)
    root = str(paths.data_dir(data_dir))
    builder = tfds.builder(spec.name, data_dir=root)
    steps = load_steps_tfds(dataset, data_dir, split=split, batch_size=batch_size)
    ds = builder.as_dataset(split=split, shuffle_files=False)
    meta_ds = ds.map(lambda ep: {k: v for k, v in ep.items() if k != F.STEPS})
    parts: dict[str, list[np.ndarray]] = {}
    for batch in tfds.as_numpy(meta_ds.batch(batch_size)):
        for key, value in batch.items():
            parts.setdefault(key, []).append(value)
    meta = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.argsort(meta[F.EPISODE_ID], kind="stable")
    meta = {k: v[order] for k, v in meta.items()}
    starts = np.flatnonzero(steps[F.IS_FIRST])
    ends = np.append(starts[1:], len(steps[F.IS_FIRST]))
    if len(starts) != len(order):
        raise ValueError(f"{spec.name}: {len(starts)} episodes in steps, {len(order)} in metadata")
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        yield ({k: v[s:e] for k, v in steps.items() if k != F.EPISODE_ID},
               {k: v[i].item() for k, v in meta.items()})


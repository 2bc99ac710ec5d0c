"""Making sure a dataset's raw log exists, is complete and is big enough (TF-free).

`ensure_raw_log` is the one gate between generation and everything that reads a
raw log (the tfds builders, `rlu datasets build`): a missing or unfinished log is
generated or resumed by `rl_unplugged.generation.generate`; an incomplete,
corrupted or too-short log is refused with an error naming the directory or file,
so a build never yields a silently short dataset.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rl_unplugged import paths
from rl_unplugged.data.raw_log import CorruptLogError, RawLog, read_manifest
from rl_unplugged.specs import DatasetSpec


def ensure_raw_log(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                   progress: Callable[[int], None] | None = None) -> RawLog:
    """Returns the verified, complete raw log of `spec`, generating it if needed.

    Args:
      spec: the dataset (its `num_steps` may be reduced for tiny builds).
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      progress: called by the generator with the number of new transitions logged.

    Raises:
      CorruptLogError: a shard is missing or corrupted (names the file), or the log
        is still incomplete after generation.
      ValueError: the directory holds another dataset's log, or fewer transitions
        than `spec.num_steps`.
    """
    raw = paths.raw_dir(spec, data_dir)
    manifest = read_manifest(raw)
    if manifest is None or not manifest["complete"]:
        from rl_unplugged import generation  # Lazy: generation imports JAX.

        generation.generate(spec, data_dir, progress=progress)
    log = RawLog(raw)  # Verifies every shard's SHA-256; refuses an unfinished log.
    if log.manifest["dataset"] != spec.name:
        raise ValueError(f"{raw} holds a raw log of {log.manifest['dataset']}, not {spec.name}")
    if log.num_transitions < spec.num_steps:
        raise CorruptLogError(f"{raw}: raw log holds {log.num_transitions} transitions, "
                              f"{spec.name} needs {spec.num_steps}; delete it and rebuild")
    return log

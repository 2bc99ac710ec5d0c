"""Making sure a dataset's raw log exists, is complete and is big enough (TF-free).

`ensure_raw_log` is the one gate between generation and everything that reads a
raw log (the tfds builders, `rlu datasets build`, `load_transitions(build=True)`):
a missing or unfinished log is generated or resumed by the `generate` callable the
caller passes (`rl_unplugged.generation.generate`: the data layer never imports
generation, which imports it); an incomplete, corrupted or too-short log is refused
with an error naming the directory or file, so a build never yields a silently
short dataset.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from rl_unplugged import paths
from rl_unplugged.data.raw_log import CorruptLogError, RawLog, read_manifest
from rl_unplugged.errors import IncompatibleError, NotFoundError
from rl_unplugged.specs import DatasetSpec

# generate(spec, data_dir, *, progress=None): writes or resumes spec's raw log.
Generate = Callable[..., object]


def ensure_raw_log(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                   generate: Generate | None = None,
                   progress: Callable[[int], None] | None = None,
                   verify: bool = True) -> RawLog:
    """Returns the verified, complete raw log of `spec`, generating it if needed.

    Args:
      spec: the dataset (its `num_steps` may be reduced for tiny builds).
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      generate: called as `generate(spec, data_dir, progress=progress)` when the log is
        missing or unfinished, e.g. `rl_unplugged.generation.generate`; without it such
        a log is refused.
      progress: passed to `generate` (called with the number of new transitions logged).
      verify: check every shard's SHA-256 now; False leaves it to the reader
        (`RawLog.verify_shard`, e.g. one Beam element per shard).

    Raises:
      NotFoundError: no raw log and no `generate`.
      CorruptLogError: a shard is missing or corrupted (names the file), or the log
        is still incomplete (after generation, or unfinished and no `generate`), or
        holds fewer transitions than `spec.min_transitions`.
      IncompatibleError: the directory holds another dataset's log.
    """
    raw = paths.raw_dir(spec, data_dir)
    manifest = read_manifest(raw)
    if manifest is None or not manifest["complete"]:
        if generate is not None:
            generate(spec, data_dir, progress=progress)
        elif manifest is None:
            raise NotFoundError(f"{spec.name} is not built under {paths.data_dir(data_dir)}; "
                                f"run `rlu datasets build {spec.name}` (or pass "
                                f"generate=rl_unplugged.generation.generate)")
    log = RawLog(raw, verify=verify)  # Refuses an unfinished log.
    if log.manifest["dataset"] != spec.name:
        raise IncompatibleError(f"{raw} holds a raw log of {log.manifest['dataset']}, "
                                f"not {spec.name}")
    if log.num_transitions < spec.min_transitions:
        raise CorruptLogError(f"{raw}: raw log holds {log.num_transitions} transitions, "
                              f"{spec.name} needs {spec.min_transitions}; delete it and "
                              "rebuild")
    return log

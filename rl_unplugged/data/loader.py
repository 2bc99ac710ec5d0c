"""TF-free loading: raw-log Parquet shards -> NumPy transitions, via a column cache.

The first load converts the verified Parquet shards with `transitions.from_steps`
(the same conversion the tfds loader uses) and writes one `.npy` per field into
`paths.cache_dir`, keyed by the SHA-256 of the raw log's manifest; later loads
read the `.npy` files (the fastest layout measured here, see NOTES.md). Needs only
NumPy and pyarrow, so it runs on machines without TensorFlow.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np

from rl_unplugged import fileio, paths, registry
from rl_unplugged.data import transitions as T
from rl_unplugged.data.raw_log import MANIFEST, RawLog
from rl_unplugged.specs import DatasetSpec


def _manifest_key(raw: Path) -> str:
    return hashlib.sha256((raw / MANIFEST).read_bytes()).hexdigest()[:16]


def transitions_from_log(log: RawLog) -> T.Transitions:
    """All transitions of a raw log (episodes never straddle shards)."""
    parts = [T.from_steps(log.shard_columns(i)) for i in range(len(log.manifest["shards"]))]
    if not parts:
        raise ValueError(f"{log.directory}: raw log holds no episodes")
    return T.concatenate(parts)


def _write_cache(target: Path, data: T.Transitions) -> None:
    def fill(tmp: Path) -> None:
        for name, column in zip(T.Transitions._fields, data, strict=True):
            np.save(tmp / f"{name}.npy", column, allow_pickle=False)

    fileio.atomic_directory(target, fill)  # The cache appears whole or not at all.


def _read_cache(directory: Path, mmap: bool) -> T.Transitions:
    mode = "r" if mmap else None
    return T.Transitions(*(np.load(directory / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
                           for name in T.Transitions._fields))


def load_transitions(dataset: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                     build: bool = False, mmap: bool = False, cache: bool = True
                     ) -> T.Transitions:
    """Loads a dataset's transitions without TensorFlow.

    Args:
      dataset: a `DatasetSpec` or its name, e.g. 'rlu_bsuite/catch_noise0_run0'.
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      build: generate the raw log first if it is missing or unfinished.
      mmap: memory-map the cached columns instead of reading them.
      cache: write/read the `.npy` column cache.

    Raises:
      KeyError: unknown dataset name (with close names).
      FileNotFoundError: the dataset was never built and `build` is False.
      CorruptLogError: a shard is missing, truncated or corrupted (names the file).
    """
    spec = registry.get_dataset(dataset) if isinstance(dataset, str) else dataset
    raw = paths.raw_dir(spec, data_dir)
    if build:
        from rl_unplugged import generation  # Lazy: generation imports JAX.

        generation.generate(spec, data_dir)
    if not (raw / MANIFEST).exists():
        raise FileNotFoundError(f"{spec.name} is not built under {paths.data_dir(data_dir)}; "
                                f"run `rlu datasets build {spec.name}`")
    log = RawLog(raw, verify=False)  # Completeness checked here; checksums on conversion.
    if not cache:
        return transitions_from_log(RawLog(raw))
    target = paths.cache_dir(spec, data_dir) / _manifest_key(raw)
    if not (target / f"{T.Transitions._fields[-1]}.npy").exists():
        data = transitions_from_log(RawLog(raw))
        if data.size != log.num_transitions:
            raise ValueError(f"{raw}: {data.size} transitions read, manifest says "
                             f"{log.num_transitions}")
        for stale in target.parent.glob("*"):
            shutil.rmtree(stale, ignore_errors=True)
        _write_cache(target, data)
    return _read_cache(target, mmap)

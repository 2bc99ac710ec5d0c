"""TF-free loading of registered datasets, through the one door (source -> store).

`load_transitions(name)` opens the dataset's raw log as a `RawLogSource` and serves
its store (`rl_unplugged.data.store`), writing it on the first load: the store is
keyed by the raw log's manifest digest, verified on open (sizes always, SHA-256 on
the first open in a process) and rebuilt from the raw log, with a warning, if a file
of it is missing or damaged. A raw-log shard that changed under an existing store
is re-verified against the raw log's manifest (`CorruptLogError` names it).

Read-only data: the store lives under `<data_dir>/rlu_cache` unless `cache_dir=`
or the environment variable `RLU_CACHE_DIR` puts it elsewhere (a data root on a
read-only disk needs one of them, or `cache=False`). `cache=False` reads the raw
log directly (every shard's SHA-256 checked, conformance checked) and writes
nothing. When the store cannot be written, the loader warns and reads uncached.

Needs only NumPy and pyarrow, so it runs on machines without TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator

from rl_unplugged import fileio, paths, registry
from rl_unplugged.data import imported
from rl_unplugged.data import store as S
from rl_unplugged.data import transitions as T
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.prepare import Generate, ensure_raw_log
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.data.sources import RawLogSource, Source
from rl_unplugged.errors import CorruptDataError, DiskFullError
from rl_unplugged.specs import DatasetSpec


class StoreRebuiltWarning(UserWarning):
    """A damaged store was rebuilt from its source (the message names the file)."""


class UncachedReadWarning(UserWarning):
    """The store could not be written; the data were read from the source uncached."""


def transitions_from_log(log: RawLog, task=None) -> T.Transitions:
    """All transitions of a raw log (episodes never straddle shards; no conformance check)."""
    action = None if task is None else task.action
    parts = [T.from_steps(log.shard_columns(i), action=action)
             for i in range(len(log.manifest["shards"]))]
    if not parts:
        raise CorruptDataError(f"{log.directory}: raw log holds no episodes")
    return T.concatenate(parts)


def _spec(dataset: str | DatasetSpec) -> DatasetSpec:
    return registry.get_dataset(dataset) if isinstance(dataset, str) else dataset


def _source(spec: DatasetSpec, data_dir, build: bool, generate: Generate | None
            ) -> RawLogSource:
    if build:
        ensure_raw_log(spec, data_dir, generate=generate)  # The one gate.
    return RawLogSource.from_spec(spec, data_dir)


def open_dataset(dataset: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                 build: bool = False, generate: Generate | None = None,
                 cache_dir: str | os.PathLike | None = None) -> S.Store:
    """The store of a registered dataset, written from its raw log if needed.

    Args:
      dataset: a `DatasetSpec` or its name, e.g. 'rlu_bsuite/catch_noise0_run0'.
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      build: make sure the raw log exists and is complete first (`prepare.ensure_raw_log`,
        generating it with `generate` if it is missing or unfinished).
      generate: the generator, e.g. `rl_unplugged.generation.generate` (the data layer
        does not import generation).
      cache_dir: root of the stores (default: $RLU_CACHE_DIR, else <data_dir>/rlu_cache).

    Raises:
      UnknownNameError: unknown dataset name (with close names).
      NotFoundError: the dataset was never built and `build` is False.
      CorruptDataError: a raw-log shard is missing or damaged, or an episode does not
        conform (names the file or the episode and field).
      DiskFullError: the store cannot be written there (read-only disk, no space).

    A name given to `rlu datasets import` opens that imported store instead.
    """
    if isinstance(dataset, str) and imported.exists(dataset, data_dir):
        return imported.open_imported(dataset, data_dir)
    spec = _spec(dataset)
    source = _source(spec, data_dir, build, generate)
    target = paths.cache_dir(spec, data_dir, cache_dir) / source.fingerprint()[:16]
    if (target / S.MANIFEST).exists():
        try:
            store = S.open_store(target)
        except CorruptDataError as e:
            warnings.warn(f"{e}; rebuilding the store from {source.uri}", StoreRebuiltWarning,
                          stacklevel=2)
        else:
            _check_source(store, source)
            return store
    elif target.exists():  # Deleted manifest, or a cache written before stores had one.
        warnings.warn(f"{target / S.MANIFEST}: store manifest missing; rebuilding the store "
                      f"from {source.uri}", StoreRebuiltWarning, stacklevel=2)
    for stale in (target.parent.iterdir() if target.parent.exists() else ()):
        if stale.name != target.name and not stale.name.startswith("."):
            shutil.rmtree(stale, ignore_errors=True)
    return S.materialize(source, target)


def _check_source(store: S.Store, source: Source) -> None:
    """A store is trusted while its raw log's files look as they did when it was written;
    when they do not, the raw log is verified in full (and the new look recorded)."""
    if store.source.get("signature") == source.signature():
        return
    source.verify()  # CorruptLogError names a shard that changed under the store.
    store.manifest["source"]["signature"] = source.signature()
    try:
        fileio.write_json(store.directory / S.MANIFEST, store.manifest)
    except OSError:
        pass  # A read-only store: verified again by the next process, still correct.


def load_transitions(dataset: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                     build: bool = False, mmap: bool = False, cache: bool = True,
                     cache_dir: str | os.PathLike | None = None,
                     generate: Generate | None = None) -> T.Transitions:
    """Loads a dataset's transitions without TensorFlow.

    Args:
      dataset: a `DatasetSpec` or its name, e.g. 'rlu_bsuite/catch_noise0_run0'.
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      build: pass the raw log through `prepare.ensure_raw_log` first (verified,
        complete, long enough; generated with `generate` when missing).
      mmap: memory-map the store's columns instead of reading them.
      cache: read through the store (written on first use); False reads the raw log
        directly (shard checksums and conformance checked) and writes nothing.
      cache_dir: root of the stores (default: $RLU_CACHE_DIR, else <data_dir>/rlu_cache).
      generate: the generator used by `build`, e.g. `rl_unplugged.generation.generate`.

    Returns:
      `Transitions` (actions int32 or float32 per the task's action space; rewards
      float32; `truncated` set on the last transition of time-limited episodes).

    Raises:
      UnknownNameError: unknown dataset name (with close names).
      NotFoundError: the dataset was never built and `build` is False.
      CorruptDataError (CorruptLogError for raw logs): a file is missing, truncated or
        corrupted (names it), or an episode does not conform.

    A name given to `rlu datasets import` loads that imported store instead.
    """
    if isinstance(dataset, str) and imported.exists(dataset, data_dir):
        return imported.open_imported(dataset, data_dir).transitions(mmap=mmap)
    if not cache:
        return S.convert(_source(_spec(dataset), data_dir, build, generate))[0]
    try:
        store = open_dataset(dataset, data_dir, build=build, generate=generate,
                             cache_dir=cache_dir)
    except DiskFullError as e:
        warnings.warn(f"{e}; reading without a store (pass cache_dir= or set "
                      f"{paths.CACHE_ENV} to keep one)", UncachedReadWarning, stacklevel=2)
        return S.convert(_source(_spec(dataset), data_dir, False, None))[0]
    return store.transitions(mmap=mmap)


def load_episodes(dataset: str | DatasetSpec, data_dir: str | os.PathLike | None = None, *,
                  build: bool = False, cache_dir: str | os.PathLike | None = None,
                  generate: Generate | None = None) -> Iterator[Episode]:
    """A dataset's episodes in logged order, rebuilt from its store (RLDS step layout,
    without step extras; metadata episode_return in float64). Arguments as
    `load_transitions`; `open_dataset(...).episodes()` gives the episode boundaries."""
    return open_dataset(dataset, data_dir, build=build, generate=generate,
                        cache_dir=cache_dir).iter_episodes()


"""Sources: where episodes come from, before they become the one on-disk store.

Every dataset reaches learners through one door: a `Source` yields episodes, and
`rl_unplugged.data.store.materialize(source, store_dir)` checks them and writes the
store that learners read (`Store.transitions()`, `Store.episodes()`). Learners never
know where the data came from.

Implementing a source (RLDS/TFDS datasets, RL Unplugged's originals, Minari, D4RL):
  * subclass `Source` and, once they are known, call
    `super().__init__(name=..., uri=..., task=...)` with `name` (a short identifier,
    e.g. the dataset name), `uri` (where the data live: 'file:///...',
    'tfds://rlu_bsuite/...', 'minari://...') and `task` (the `TaskSpec` whose
    observation and action specs the episodes follow; build one with
    `dataclasses.replace` of a registered task or a new `TaskSpec`); the base serves
    them as properties (override those to compute them lazily instead). Give
    JSON-serialisable `metadata` (recorded in the store);
  * `fingerprint()`: a cheap string that changes whenever the content changes (a
    digest of a manifest, a dataset version); the store is keyed by it;
  * `iter_episodes()`: `rl_unplugged.data.episode.Episode`s in logged order, in the
    RLDS step layout documented in `rl_unplugged.data.episode` (T + 1 steps, the last
    one padding; discount 0 only on a true termination; `is_terminal` on the last
    step of terminated episodes only). Actions: (T + 1,) integers for discrete tasks,
    (T + 1, A) floats for continuous ones. Observations: arrays of the task's
    observation shape, or dicts of arrays that the store flattens in the task's
    registered key order (`TaskSpec.observation_keys`). Metadata: `episode_id`
    (unique), `episode_return` (float, sum of rewards) and `episode_length` (T) at
    least; `Episode.from_rollout` fills the last two;
  * optionally `iter_blocks()` (many whole episodes concatenated: much faster to
    check and convert than one episode at a time), `signature()` and `verify()`
    (a cheap stat of the underlying files, and a full content check; see below).
Conformance (the RLDS layout, actions within the action space, no NaN observations)
is checked by `materialize`, not by the source.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged import paths
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import MANIFEST, CorruptLogError, RawLog, manifest_digest
from rl_unplugged.errors import IncompatibleError, NotFoundError
from rl_unplugged.specs import DatasetSpec, TaskSpec

BLOCK_STEPS = 65_536  # Steps per block when grouping episodes (large: per-block work is cheap).


@dataclasses.dataclass(frozen=True)
class Block:
    """Whole episodes concatenated, in logged order.

    Attributes:
      steps: step columns with a leading axis of S steps (observation may be a dict of
        arrays); optionally `episode_id` per step.
      metadata: episode metadata columns with a leading axis of E episodes.
    """

    steps: dict[str, Any]
    metadata: dict[str, np.ndarray]


def _concat(values: list) -> Any:
    if isinstance(values[0], Mapping):
        return {k: np.concatenate([v[k] for v in values]) for k in values[0]}
    return np.concatenate(values)


def block_of(episodes: list[Episode]) -> Block:
    """Concatenates episodes into one block (metadata keys of the first episode)."""
    keys = list(episodes[0].metadata)
    for ep in episodes:
        if list(ep.metadata) != keys or list(ep.steps) != list(episodes[0].steps):
            raise IncompatibleError(f"episode {ep.metadata.get(F.EPISODE_ID)} has other fields "
                                    f"than episode {episodes[0].metadata.get(F.EPISODE_ID)}")
    steps = {k: _concat([ep.steps[k] for ep in episodes]) for k in episodes[0].steps}
    if F.EPISODE_ID in keys:  # Else conformance names the episodes without one.
        steps[F.EPISODE_ID] = np.concatenate([
            np.full(len(ep.steps[F.REWARD]), ep.metadata[F.EPISODE_ID], np.int64)
            for ep in episodes])
    metadata = {k: np.asarray([ep.metadata[k] for ep in episodes]) for k in keys}
    return Block(steps=steps, metadata=metadata)


class Source(abc.ABC):
    """Episodes of one dataset, and what they are; see the module docstring."""

    def __init__(self, *, name: str, uri: str, task: TaskSpec):
        """Args: name, uri, task: served by the properties of the same names (kept as
        `_name`, `_uri`, `_task`, which subclasses may read or set earlier)."""
        self._name, self._uri, self._task = name, uri, task

    @property
    def name(self) -> str:
        """Short identifier, e.g. 'rlu_bsuite/catch_noise0_run0'."""
        return self._name

    @property
    def uri(self) -> str:
        """Where the episodes are read from (named in errors and recorded in the store)."""
        return self._uri

    @property
    def task(self) -> TaskSpec:
        """The task: observation spec (and registered dict key order) and action spec."""
        return self._task

    @property
    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable facts recorded in the store. `num_transitions`, if given,
        is checked against what the episodes hold."""
        return {}

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """Cheap identity of the content: changes whenever the episodes change."""

    @abc.abstractmethod
    def iter_episodes(self) -> Iterator[Episode]:
        """`Episode`s in logged order (RLDS step layout)."""

    def iter_blocks(self) -> Iterator[Block]:
        """Whole episodes in blocks of about `BLOCK_STEPS` steps, in logged order."""
        pending: list[Episode] = []
        size = 0
        for episode in self.iter_episodes():
            pending.append(episode)
            size += len(episode.steps[F.REWARD])
            if size >= BLOCK_STEPS:
                yield block_of(pending)
                pending, size = [], 0
        if pending:
            yield block_of(pending)

    def signature(self) -> dict[str, Any]:
        """A cheap stat of the underlying files (JSON-serialisable), recorded in the store;
        when it differs later, `verify()` is called before the store is trusted."""
        return {}

    def verify(self) -> None:
        """Checks the full content; raises `CorruptDataError` naming the file if damaged."""


class DelegatingSource(Source):
    """Another source's episodes, files and checks, under a task of its own (default:
    the wrapped source's); subclasses override what they change (e.g. `metadata`)."""

    def __init__(self, source: Source, task: TaskSpec | None = None):
        self._source = source
        super().__init__(name=source.name, uri=source.uri,
                         task=source.task if task is None else task)

    @property
    def metadata(self) -> dict[str, Any]:
        return self._source.metadata

    def fingerprint(self) -> str:
        return self._source.fingerprint()

    def signature(self) -> dict[str, Any]:
        return self._source.signature()

    def verify(self) -> None:
        self._source.verify()

    def iter_episodes(self) -> Iterator[Episode]:
        return self._source.iter_episodes()

    def iter_blocks(self) -> Iterator[Block]:
        return self._source.iter_blocks()


class RawLogSource(Source):
    """A local raw log (`rl_unplugged.data.raw_log`): sharded Parquet with a manifest.

    Opening reads the manifest only (and refuses an unfinished log); reading episodes
    verifies every shard's SHA-256 against the manifest first.
    """

    def __init__(self, directory: str | os.PathLike, task: TaskSpec):
        """Args: directory: the raw log's directory; task: the task it was logged on.

        Raises:
          NotFoundError: no raw log there. CorruptLogError: unfinished or unreadable.
        """
        self._log = RawLog(Path(directory), verify=False)
        super().__init__(name=self._log.manifest["dataset"],
                         uri=self._log.directory.resolve().as_uri(), task=task)

    @classmethod
    def from_spec(cls, spec: DatasetSpec, data_dir: str | os.PathLike | None = None
                  ) -> RawLogSource:
        """The raw log of a registered dataset under the data root.

        Raises:
          NotFoundError: the dataset was never built there (says how to build it).
          CorruptLogError: shards are there but their manifest is gone (names it).
          IncompatibleError: the directory holds another dataset's log.
        """
        raw = paths.raw_dir(spec, data_dir)
        if not (raw / MANIFEST).exists():
            if any(raw.glob("shard-*")):  # Data without the manifest that checks it.
                raise CorruptLogError(f"{raw / MANIFEST}: missing (its shards cannot be "
                                      f"verified without it); delete {raw} and build again")
            raise NotFoundError(f"{spec.name} is not built under {paths.data_dir(data_dir)}; "
                                f"run `rlu datasets build {spec.name}`")
        source = cls(raw, spec.task)
        if source.name != spec.name:
            raise IncompatibleError(f"{raw} holds a raw log of {source.name}, not {spec.name}")
        return source

    @property
    def log(self) -> RawLog:
        return self._log

    @property
    def directory(self) -> Path:
        return self._log.directory

    @property
    def metadata(self) -> dict[str, Any]:
        m = self._log.manifest
        return {"format": m["format"], "format_version": m["format_version"],
                "dataset": m["dataset"], "num_episodes": m["num_episodes"],
                "num_transitions": m["num_transitions"]}

    def fingerprint(self) -> str:
        """SHA-256 of the manifest, which lists every shard's SHA-256."""
        return manifest_digest(self.directory)

    def _files(self) -> list[str]:
        return [name for shard in self._log.manifest["shards"] for name in shard["files"]]

    def signature(self) -> dict[str, Any]:
        """{shard file: [size, mtime_ns]} (missing files: None)."""
        out: dict[str, Any] = {}
        root = str(self.directory)
        for name in self._files():
            try:
                st = os.stat(os.path.join(root, name))  # Not pathlib: called on every load.
                out[name] = [st.st_size, st.st_mtime_ns]
            except FileNotFoundError:
                out[name] = None
        return out

    def verify(self) -> None:
        """Every shard against its SHA-256 (CorruptLogError names the file)."""
        RawLog(self.directory)

    def iter_episodes(self) -> Iterator[Episode]:
        yield from RawLog(self.directory).iter_episodes()

    def iter_blocks(self) -> Iterator[Block]:
        """One block per shard (episodes never straddle shards)."""
        log = RawLog(self.directory)  # Verifies every shard's SHA-256 before any read.
        for index in range(len(log.manifest["shards"])):
            yield Block(steps=log.shard_columns(index), metadata=log.shard_episodes(index))

"""Raw logs: episodes in sharded Parquet, written atomically and resumably.

A raw log is one directory per dataset:

  manifest.json                      the commit point (rewritten atomically)
  shard-00000.steps.parquet          one row per RLDS step, episodes never split
  shard-00000.episodes.parquet       one row per episode (metadata)
  resume.npz / checkpoints/...       written by the generator, named in the manifest

Observations are stored as fixed-size lists (reshaped to the manifest's shape on
read); so are continuous action vectors ((rows, A) float32); discrete actions and
the other step fields are plain columns.

A shard's files are written under a temporary name, fsynced and renamed; only then
is the manifest, which lists each shard with its row counts and SHA-256, replaced.
A crash therefore never leaves a shard that looks complete: files the manifest does
not list are discarded when the log is reopened. Readers verify every shard
against the manifest and name the file that fails.

We write our own writer rather than envlogger's (1.3 needs glibc 2.38, 1.2 needs a
numpy-2 monkey patch): Parquet shards are also what the TF-free loader reads.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rl_unplugged import fileio
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.errors import CorruptDataError, IncompatibleError, LockedError, NotFoundError

LOCK = ".lock"  # Held (flock) by the one process writing a log.
# The resume state's SHA-256, in the manifest only while the log is unfinished (dropped
# with the resume state at finalize, so complete manifests stay byte-identical).
RESUME_SHA256 = "resume_state_sha256"
FORMAT = "rlu-raw-log"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class CorruptLogError(CorruptDataError):
    """A raw-log file is missing, truncated or does not match its manifest."""


class LogLockedError(LockedError):
    """Another writer (another process, or an unclosed writer) holds the log."""


def _write_json(path: Path, obj: Any) -> None:
    fileio.atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1, sort_keys=True)))


def manifest_digest(directory: str | os.PathLike) -> str:
    """SHA-256 of a raw log's manifest (which lists every shard's SHA-256): the log's
    fingerprint, as recorded builds (`data/reference_builds.py`) name them."""
    return hashlib.sha256((Path(directory) / MANIFEST).read_bytes()).hexdigest()


NUMERICS = "numerics"  # Where `generation` holds a build's numerics mark (`generation.numerics`).


def numerics_mark(generation: dict) -> dict | None:
    """The numerics mark a manifest's `generation` holds (None: a canonical build)."""
    return generation.get(NUMERICS)


def unmarked(generation: dict) -> dict:
    """`generation` without its numerics mark: what the build is a function of."""
    return {k: v for k, v in generation.items() if k != NUMERICS}


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:  # Text garbage or binary.
        raise CorruptLogError(f"{path}: unreadable manifest ({str(e)[:100]})") from None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or manifest.get("format_version") != FORMAT_VERSION):
        raise CorruptLogError(f"{path}: not a {FORMAT} v{FORMAT_VERSION} manifest")
    return manifest


def _steps_table(episodes: list[Episode], obs_shape: tuple[int, ...], obs_dtype) -> pa.Table:
    cols: dict[str, list[np.ndarray]] = {}
    ids = []
    for ep in episodes:
        ids.append(np.full(len(ep.steps[F.REWARD]), ep.metadata[F.EPISODE_ID], np.int64))
        for key, value in ep.steps.items():
            cols.setdefault(key, []).append(value)
    arrays = {F.EPISODE_ID: pa.array(np.concatenate(ids))}
    size = int(np.prod(obs_shape))
    for key, parts in cols.items():
        value = np.concatenate(parts)
        if key == F.OBSERVATION:
            if value.shape[1:] != tuple(obs_shape) or value.dtype != obs_dtype:
                raise ValueError(f"observations {value.shape[1:]} {value.dtype} do not match "
                                 f"spec {tuple(obs_shape)} {obs_dtype}")
            arrays[key] = pa.FixedSizeListArray.from_arrays(pa.array(value.reshape(-1)), size)
        elif value.ndim > 1:  # Continuous action vectors (discrete logs never get here).
            width = int(np.prod(value.shape[1:]))
            arrays[key] = pa.FixedSizeListArray.from_arrays(pa.array(value.reshape(-1)), width)
        else:
            arrays[key] = pa.array(value)
    return pa.table(arrays)


def _episodes_table(episodes: list[Episode]) -> pa.Table:
    keys = episodes[0].metadata.keys()
    return pa.table({k: pa.array([ep.metadata[k] for ep in episodes]) for k in keys})


class RawLogWriter:
    """Appends episodes to a raw log, one atomic shard at a time.

    Use `RawLogWriter.open(directory, ...)`: it creates a log or reopens an
    unfinished one, discarding anything not committed. `num_episodes` then says
    where the previous writer stopped; `resume_state` returns what it committed.
    """

    def __init__(self, directory: Path, manifest: dict, lock_fd: int | None = None):
        self.directory = Path(directory)
        self._lock_fd = lock_fd
        self._manifest = manifest
        self._pending: list[Episode] = []
        self._pending_transitions = 0  # Kept incrementally: callers poll it every episode.
        self._new_checkpoints: list[dict] = []
        self._obs_shape = tuple(manifest["observation"]["shape"])
        self._obs_dtype = np.dtype(manifest["observation"]["dtype"])

    @classmethod
    def open(cls, directory: Path, *, dataset: str, observation_shape: tuple[int, ...],
             observation_dtype: str, generation: dict) -> RawLogWriter:
        """Creates or reopens the log of `dataset` in `directory`.

        Raises:
          IncompatibleError: the directory holds a log of another dataset or generation
            config (a ValueError).
          LogLockedError: another writer holds the log.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # One writer per log: two processes appending to one log would interleave shards.
        lock_fd = os.open(directory / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise LogLockedError(f"{directory} is being written by another writer (process or "
                                 f"unclosed RawLogWriter); wait for it or stop it") from None
        try:
            return cls._open_locked(directory, lock_fd, dataset=dataset,
                                    observation_shape=observation_shape,
                                    observation_dtype=observation_dtype, generation=generation)
        except BaseException:
            os.close(lock_fd)
            raise

    @classmethod
    def _open_locked(cls, directory: Path, lock_fd: int, *, dataset: str,
                     observation_shape: tuple[int, ...], observation_dtype: str,
                     generation: dict) -> RawLogWriter:
        manifest = read_manifest(directory)
        if manifest is None:
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "dataset": dataset,
                "generation": generation,
                "observation": {"shape": list(observation_shape), "dtype": str(observation_dtype)},
                "shards": [], "num_episodes": 0, "num_transitions": 0, "num_rows": 0,
                "resume_state": None, "checkpoints": [], "complete": False, "summary": {},
            }
        elif manifest["dataset"] != dataset or manifest["generation"] != generation:
            raise IncompatibleError(f"{directory} holds a log of {manifest['dataset']} made "
                                    f"with another generation config; delete it or use "
                                    f"another directory")
        writer = cls(directory, manifest, lock_fd)
        writer._discard_uncommitted()
        return writer

    def close(self) -> None:
        """Releases the log (pending episodes are not committed)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # Closing the descriptor drops the flock.
            self._lock_fd = None

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _referenced(self) -> set[str]:
        names = {MANIFEST, LOCK}
        for shard in self._manifest["shards"]:
            names.update(shard["files"])
        if self._manifest["resume_state"]:
            names.add(self._manifest["resume_state"])
        names.update(c["file"] for c in self._manifest["checkpoints"])
        return names

    def _discard_uncommitted(self) -> None:
        keep = self._referenced()
        for path in self.directory.rglob("*"):
            rel = path.relative_to(self.directory).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()

    @property
    def manifest(self) -> dict:
        return self._manifest

    @property
    def complete(self) -> bool:
        return self._manifest["complete"]

    @property
    def num_episodes(self) -> int:
        """Episodes committed plus pending."""
        return self._manifest["num_episodes"] + len(self._pending)

    @property
    def num_transitions(self) -> int:
        return self._manifest["num_transitions"] + self._pending_transitions

    @property
    def num_pending(self) -> int:
        return len(self._pending)

    def resume_state(self) -> dict[str, np.ndarray] | None:
        """The generator state committed with the last shard, if any.

        Raises:
          CorruptLogError: the state file is missing, unreadable or fails the SHA-256
            recorded in the manifest (names the file).
        """
        name = self._manifest["resume_state"]
        if not name:
            return None
        path = self.directory / name
        if not path.exists():
            raise CorruptLogError(f"{path}: resume state missing; delete {self.directory} "
                                  f"and build again")
        digest = self._manifest.get(RESUME_SHA256)  # Absent in logs older than the digest.
        if digest is not None and fileio.sha256_file(path) != digest:
            raise CorruptLogError(f"{path}: checksum mismatch (truncated or corrupted resume "
                                  f"state); delete {self.directory} and build again")
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise CorruptLogError(f"{path}: unreadable resume state ({e})") from e

    def add(self, episode: Episode) -> None:
        if self.complete:
            raise RuntimeError(f"{self.directory}: log is complete; nothing can be added")
        expected = self.num_episodes
        if episode.metadata[F.EPISODE_ID] != expected:
            raise ValueError(f"episode_id {episode.metadata[F.EPISODE_ID]} out of order; "
                             f"expected {expected}")
        self._pending.append(episode)
        self._pending_transitions += episode.num_transitions

    def add_checkpoint(self, name: str, write: Callable[[Path], None], info: dict) -> None:
        """Writes a file (e.g. agent params) that the next `commit` registers."""
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write(path, write)
        self._new_checkpoints.append(dict(info, file=name))

    def commit(self, resume_state: dict[str, np.ndarray] | None = None) -> None:
        """Writes pending episodes as one shard, then the manifest (the commit point)."""
        m = self._manifest
        index = len(m["shards"])
        entry = None
        if self._pending:
            stem = f"shard-{index:05d}"
            steps = _steps_table(self._pending, self._obs_shape, self._obs_dtype)
            episodes = _episodes_table(self._pending)
            files = [f"{stem}.steps.parquet", f"{stem}.episodes.parquet"]
            for name, table in zip(files, (steps, episodes), strict=True):
                fileio.atomic_write(self.directory / name,
                             lambda tmp, t=table: pq.write_table(t, tmp, compression="zstd"))
            entry = {
                "files": files,
                "sha256": {n: fileio.sha256_file(self.directory / n) for n in files},
                "first_episode": self._pending[0].metadata[F.EPISODE_ID],
                "num_episodes": len(self._pending),
                "num_rows": steps.num_rows,
                "num_transitions": sum(e.num_transitions for e in self._pending),
            }
        old_state = m["resume_state"]
        new = dict(m)
        if entry:
            new["shards"] = m["shards"] + [entry]
            new["num_episodes"] += entry["num_episodes"]
            new["num_transitions"] += entry["num_transitions"]
            new["num_rows"] += entry["num_rows"]
        new["checkpoints"] = m["checkpoints"] + self._new_checkpoints
        if resume_state is not None:
            name = f"resume-{index:05d}.npz"

            def write_state(tmp: Path) -> None:
                with open(tmp, "wb") as f:
                    np.savez(f, **resume_state)

            fileio.atomic_write(self.directory / name, write_state)
            new["resume_state"] = name
            new[RESUME_SHA256] = fileio.sha256_file(self.directory / name)
        _write_json(self.directory / MANIFEST, new)
        self._manifest = new
        self._pending = []
        self._pending_transitions = 0
        self._new_checkpoints = []
        if old_state and old_state != new["resume_state"]:
            (self.directory / old_state).unlink(missing_ok=True)

    def finalize(self, summary: dict | None = None) -> None:
        """Commits pending episodes, marks the log complete (drops the resume state), closes."""
        self.commit()
        new = dict(self._manifest, complete=True, summary=summary or {})
        state = new["resume_state"]
        new["resume_state"] = None
        new.pop(RESUME_SHA256, None)
        _write_json(self.directory / MANIFEST, new)
        self._manifest = new
        if state:
            (self.directory / state).unlink(missing_ok=True)
        self.close()  # A complete log takes no more writes.


class RawLog:
    """Reads a raw log, verifying each shard against the manifest."""

    def __init__(self, directory: Path, *, require_complete: bool = True, verify: bool = True):
        self.directory = Path(directory)
        manifest = read_manifest(self.directory)
        if manifest is None:
            raise NotFoundError(f"no raw log at {self.directory} (missing {MANIFEST})")
        if require_complete and not manifest["complete"]:
            raise CorruptLogError(f"{self.directory}: generation did not finish "
                                  f"({manifest['num_transitions']} transitions committed); "
                                  f"re-run the build to resume it")
        self.manifest = manifest
        self.observation_shape = tuple(manifest["observation"]["shape"])
        self.observation_dtype = np.dtype(manifest["observation"]["dtype"])
        if verify:
            for index in range(len(manifest["shards"])):
                self.verify_shard(index)

    def verify_shard(self, index: int) -> None:
        """Checks one shard's files against the manifest's digests.

        Raises:
          CorruptLogError: a file is missing or its checksum differs.
        """
        shard = self.manifest["shards"][index]
        for name in shard["files"]:
            self._verify(name, shard["sha256"][name])

    def _verify(self, name: str, digest: str) -> None:
        path = self.directory / name
        if not path.exists():
            raise CorruptLogError(f"{path}: shard file missing")
        if fileio.sha256_file(path) != digest:
            raise CorruptLogError(f"{path}: checksum mismatch (truncated or corrupted shard)")

    @property
    def num_episodes(self) -> int:
        return self.manifest["num_episodes"]

    @property
    def num_transitions(self) -> int:
        return self.manifest["num_transitions"]

    def _read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        path = self.directory / name
        try:
            return pq.read_table(path, columns=columns)
        except (pa.ArrowInvalid, OSError) as e:
            raise CorruptLogError(f"{path}: unreadable Parquet shard ({e})") from e

    def _observations(self, column: pa.ChunkedArray) -> np.ndarray:
        flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return flat.astype(self.observation_dtype, copy=False).reshape(-1, *self.observation_shape)

    def shard_columns(self, index: int, columns: list[str] | None = None) -> dict[str, np.ndarray]:
        """One shard's step columns as NumPy arrays (observations reshaped)."""
        shard = self.manifest["shards"][index]
        table = self._read(shard["files"][0], columns)
        if table.num_rows != shard["num_rows"]:
            raise CorruptLogError(f"{self.directory / shard['files'][0]}: {table.num_rows} rows, "
                                  f"manifest says {shard['num_rows']}")
        out = {}
        for name in table.column_names:
            col = table.column(name)
            if name == F.OBSERVATION:
                out[name] = self._observations(col)
            elif pa.types.is_fixed_size_list(col.type):  # (rows, A) action vectors.
                flat = col.combine_chunks().flatten().to_numpy(zero_copy_only=False)
                out[name] = flat.reshape(-1, col.type.list_size)
            else:
                out[name] = col.to_numpy()
        return out

    def shard_episodes(self, index: int) -> dict[str, np.ndarray]:
        """One shard's episode metadata, as columns."""
        shard = self.manifest["shards"][index]
        table = self._read(shard["files"][1])
        if table.num_rows != shard["num_episodes"]:
            raise CorruptLogError(f"{self.directory / shard['files'][1]}: {table.num_rows} "
                                  f"episodes, manifest says {shard['num_episodes']}")
        return {n: table.column(n).to_numpy() for n in table.column_names}

    def episodes_table(self) -> dict[str, np.ndarray]:
        """Episode metadata of the whole log, as columns."""
        tables = [self._read(s["files"][1]) for s in self.manifest["shards"]]
        if not tables:
            return {}
        table = pa.concat_tables(tables)
        return {n: table.column(n).to_numpy() for n in table.column_names}

    def iter_episodes(self) -> Iterator[Episode]:
        """Yields episodes in order; memory holds one shard at a time."""
        for index in range(len(self.manifest["shards"])):
            yield from self.iter_shard_episodes(index)

    def iter_shard_episodes(self, index: int) -> Iterator[Episode]:
        """Yields one shard's episodes in order (shards hold whole episodes)."""
        shard = self.manifest["shards"][index]
        cols = self.shard_columns(index)
        meta = self._read(shard["files"][1]).to_pylist()
        ids = cols.pop(F.EPISODE_ID)
        bounds = np.flatnonzero(np.diff(ids)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(ids)]])
        if len(starts) != len(meta):
            raise CorruptLogError(f"{self.directory / shard['files'][0]}: {len(starts)} "
                                  f"episodes in steps, {len(meta)} in metadata")
        for m, s, e in zip(meta, starts, ends, strict=True):
            if ids[s] != m[F.EPISODE_ID]:
                raise CorruptLogError(f"{self.directory / shard['files'][0]}: episode ids "
                                      f"disagree with {shard['files'][1]}")
            yield Episode(steps={k: v[s:e] for k, v in cols.items()}, metadata=m)

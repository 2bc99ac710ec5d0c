"""D4RL-format HDF5 files as a `Source` (`d4rl:/path/file.hdf5`).

Read with h5py, no D4RL install needed. Datasets at the file's root, one row per
transition: `observations` (N, *obs), `actions` (N, A) or (N,), `rewards` (N,),
`terminals` (N,), `timeouts` (N,), optional `next_observations` (N, *obs); `infos/*`
and `metadata/*` are ignored.

Terminal vs timeout (D4RL issues #189, #204: users mixing them up bootstrap wrongly):
  * `terminals[i]` = 1: the environment terminated after row i (discount 0,
    is_terminal on the episode's last step);
  * `timeouts[i]` = 1: the time limit cut the episode after row i (truncation:
    discount stays 1, learners bootstrap; `Transitions.truncated` marks the row);
  * both set: a termination. A file without `timeouts` has truncations only where
    its last row ends (and terminals).
Episodes are cut as `rl_unplugged.data.flat` documents; without `next_observations`
the last row of each truncated episode is dropped (its next observation is not in
the file, as in `d4rl.qlearning_dataset`).

The task: the registered one when given, else ad-hoc (`rl_unplugged.data.adhoc`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged.data import adhoc
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.flat import episode_bounds, episodes_from_flat
from rl_unplugged.data.sources import Source
from rl_unplugged.errors import CorruptDataError, NotFoundError
from rl_unplugged.specs import TaskSpec

REQUIRED = ("observations", "actions", "rewards", "terminals")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (the fingerprint of single-file sources)."""
    from rl_unplugged import fileio

    return fileio.sha256_file(path)


def file_signature(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {path.name: [st.st_size, st.st_mtime_ns]}


class D4RLSource(Source):
    """A D4RL-format HDF5 file; see the module docstring."""

    def __init__(self, path: str | os.PathLike, *, task: TaskSpec | None = None,
                 name: str | None = None):
        """Args: path: the .hdf5 file; task: its registered task (else ad-hoc); name:
        the dataset's name (default: the file's stem).

        Raises:
          NotFoundError: no such file. CorruptDataError: not HDF5, or a required
            dataset missing or of the wrong length (names the file and the field).
        """
        self._path = Path(path).expanduser()
        if not self._path.is_file():
            raise NotFoundError(f"{self._path}: no such D4RL file")
        self._name = name or self._path.stem
        self._columns = self._read()
        super().__init__(name=self._name, uri=f"d4rl:{self._path.resolve()}",
                         task=task or self._adhoc_task())

    def _read(self) -> dict[str, np.ndarray]:
        import h5py

        try:
            with h5py.File(self._path, "r") as f:
                missing = [k for k in REQUIRED if k not in f]
                if missing:
                    raise CorruptDataError(f"{self._path}: missing D4RL field(s) {missing}")
                keys = [*REQUIRED, *(k for k in ("timeouts", "next_observations") if k in f)]
                columns = {k: np.asarray(f[k][()]) for k in keys}
        except OSError as e:
            if isinstance(e, CorruptDataError):
                raise
            raise CorruptDataError(f"{self._path}: unreadable HDF5 file ({e})") from None
        n = len(columns["observations"])
        for key, value in columns.items():
            if len(value) != n:
                raise CorruptDataError(f"{self._path}: field {key!r} has {len(value)} rows, "
                                       f"observations has {n}")
        columns["rewards"] = columns["rewards"].reshape(n)
        columns["terminals"] = columns["terminals"].reshape(n).astype(bool)
        columns["timeouts"] = (columns["timeouts"].reshape(n).astype(bool)
                               if "timeouts" in columns else np.zeros(n, bool))
        return columns

    def _adhoc_task(self) -> TaskSpec:
        c = self._columns
        bounds = episode_bounds(c["terminals"], c["timeouts"])
        return adhoc.adhoc_task(
            self._name, observation_shape=c["observations"].shape[1:],
            observation_dtype=str(c["observations"].dtype),
            action=adhoc.infer_action(c["actions"]),
            max_episode_steps=max((e - s for s, e, _ in bounds), default=1))

    @property
    def metadata(self) -> dict[str, Any]:
        c = self._columns
        return {"format": "d4rl-hdf5", "file": str(self._path.resolve()),
                "rows": int(len(c["rewards"])), "terminals": int(c["terminals"].sum()),
                "timeouts": int(c["timeouts"].sum()),
                "next_observations": "next_observations" in c}

    def fingerprint(self) -> str:
        return file_digest(self._path)

    def signature(self) -> dict[str, Any]:
        return file_signature(self._path)

    def iter_episodes(self) -> Iterator[Episode]:
        c = self._columns
        actions = c["actions"]
        if self._task.is_discrete and actions.ndim == 2 and actions.shape[1] == 1:
            actions = actions.reshape(-1)
        yield from episodes_from_flat(
            observation=c["observations"], action=actions, reward=c["rewards"],
            terminal=c["terminals"], truncated=c["timeouts"],
            next_observation=c.get("next_observations"), where=str(self._path))

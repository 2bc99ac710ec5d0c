"""Flat npz files (the suite's `--to npz` export) as a `Source` (`npz:/path/file.npz`).

The arrays are documented in `rl_unplugged.data.export`: observation, action, reward,
next_observation, terminal, truncated and episode_id (uint64) are read, and
source_episode_id (uint64) where present (kept as episode metadata); rows are cut
into episodes by episode_id, terminal and truncated (`rl_unplugged.data.flat`). The
task is the one recorded in the file's `task` entry, else ad-hoc.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.flat import episode_bounds, episodes_from_flat
from rl_unplugged.data.sources import Source
from rl_unplugged.data.sources_d4rl import file_digest, file_signature
from rl_unplugged.errors import CorruptDataError, NotFoundError
from rl_unplugged.specs import TaskSpec

REQUIRED = ("observation", "action", "reward", "next_observation", "terminal", "truncated",
            "episode_id")
OPTIONAL = (F.SOURCE_EPISODE_ID,)  # Kept as episode metadata when the file has it.


class NpzSource(Source):
    """A flat npz file; see the module docstring."""

    def __init__(self, path: str | os.PathLike, *, task: TaskSpec | None = None,
                 name: str | None = None):
        """Raises: NotFoundError: no such file. CorruptDataError: unreadable, or a
        field missing or of the wrong length (names the file and the field)."""
        self._path = Path(path).expanduser()
        if not self._path.is_file():
            raise NotFoundError(f"{self._path}: no such npz file")
        self._name = name or self._path.stem
        try:
            with np.load(self._path, allow_pickle=False) as f:
                missing = [k for k in REQUIRED if k not in f.files]
                if missing:
                    raise CorruptDataError(f"{self._path}: missing npz field(s) {missing}")
                self._c = {k: f[k] for k in REQUIRED + OPTIONAL if k in f.files}
                recorded = str(f["task"]) if "task" in f.files else None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            if isinstance(e, CorruptDataError):
                raise
            raise CorruptDataError(f"{self._path}: unreadable npz file ({e})") from None
        n = len(self._c["reward"])
        for key, value in self._c.items():
            if len(value) != n:
                raise CorruptDataError(f"{self._path}: field {key!r} has {len(value)} rows, "
                                       f"reward has {n}")
        for key in ("episode_id", *OPTIONAL):
            if key in self._c:
                self._c[key] = self._c[key].astype(np.uint64).view(np.int64)
        if task is None and recorded is not None:
            task = adhoc.task_from_json(json.loads(recorded))
        super().__init__(name=self._name, uri=f"npz:{self._path.resolve()}",
                         task=task or self._adhoc_task())

    def _adhoc_task(self) -> TaskSpec:
        c = self._c
        bounds = episode_bounds(c["terminal"], c["truncated"], c["episode_id"])
        return adhoc.adhoc_task(
            self._name, observation_shape=c["observation"].shape[1:],
            observation_dtype=str(c["observation"].dtype), action=adhoc.infer_action(c["action"]),
            max_episode_steps=max((e - s for s, e, _ in bounds), default=1))

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": "rlu-npz", "file": str(self._path.resolve()),
                "num_transitions": int(len(self._c["reward"]))}

    def fingerprint(self) -> str:
        return file_digest(self._path)

    def signature(self) -> dict[str, Any]:
        return file_signature(self._path)

    def iter_episodes(self) -> Iterator[Episode]:
        c = self._c
        row = 0  # With next_observation given, episodes cover every row in order.
        for episode in episodes_from_flat(
                observation=c["observation"], action=c["action"], reward=c["reward"],
                terminal=c["terminal"], truncated=c["truncated"],
                next_observation=c["next_observation"], episode_id=c["episode_id"],
                where=str(self._path)):
            for key in OPTIONAL:
                if key in c:
                    episode.metadata[key] = int(c[key][row])
            row += episode.num_transitions
            yield episode

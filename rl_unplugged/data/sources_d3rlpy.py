"""d3rlpy 2.x ReplayBuffer HDF5 files as a `Source` (`d3rlpy:/path/file.h5`).

The layout `rl_unplugged.data.export.export_d3rlpy` writes (d3rlpy 2.8's
`ReplayBuffer.dump`, version "2.1"): `num_episodes`, and per episode `observations_<i>`,
`actions_<i>`, `rewards_<i>`, `terminated_<i>`. An episode that did not terminate has
one more observation row than it has transitions (its last row's action and reward
are unused); a terminated one has as many rows as transitions, and its final
observation (unused: discount 0) is zeros, as d3rlpy gives it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.sources import Source
from rl_unplugged.data.sources_d4rl import file_digest, file_signature
from rl_unplugged.errors import CorruptDataError, NotFoundError
from rl_unplugged.specs import TaskSpec


class D3rlpySource(Source):
    """A d3rlpy 2.x dump; see the module docstring."""

    def __init__(self, path: str | os.PathLike, *, task: TaskSpec | None = None,
                 name: str | None = None):
        """Raises: NotFoundError: no such file. CorruptDataError: unreadable or a field
        missing (names the file and the field)."""
        import h5py

        self._path = Path(path).expanduser()
        if not self._path.is_file():
            raise NotFoundError(f"{self._path}: no such d3rlpy file")
        self._name = name or self._path.stem
        self._episodes = []
        try:
            with h5py.File(self._path, "r") as f:
                for key in ("num_episodes", "version"):
                    if key not in f:
                        raise CorruptDataError(f"{self._path}: missing d3rlpy field {key!r}")
                for i in range(int(f["num_episodes"][()])):
                    row = {}
                    for key in ("observations", "actions", "rewards", "terminated"):
                        if f"{key}_{i}" not in f:
                            raise CorruptDataError(f"{self._path}: missing d3rlpy field "
                                                   f"'{key}_{i}'")
                        row[key] = np.asarray(f[f"{key}_{i}"][()])
                    self._episodes.append(row)
                recorded = f["rlu_task"][()] if "rlu_task" in f else None
                # The suite's export keeps the store's episode ids beside d3rlpy's data.
                self._ids = (np.asarray(f["rlu_episode_id"][()], np.int64)
                             if "rlu_episode_id" in f else np.arange(len(self._episodes)))
        except OSError as e:
            if isinstance(e, CorruptDataError):
                raise
            raise CorruptDataError(f"{self._path}: unreadable HDF5 file ({e})") from None
        if task is None and recorded is not None:
            task = adhoc.task_from_json(json.loads(recorded))
        super().__init__(name=self._name, uri=f"d3rlpy:{self._path.resolve()}",
                         task=task or self._adhoc_task())

    def _adhoc_task(self) -> TaskSpec:
        obs = self._episodes[0]["observations"]
        actions = np.concatenate([e["actions"] for e in self._episodes])
        if actions.dtype.kind in "iu":
            actions = actions.reshape(-1)
        return adhoc.adhoc_task(self._name, observation_shape=obs.shape[1:],
                                observation_dtype=str(obs.dtype),
                                action=adhoc.infer_action(actions),
                                max_episode_steps=max(len(e["rewards"]) for e in self._episodes))

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": "d3rlpy-hdf5", "file": str(self._path.resolve())}

    def fingerprint(self) -> str:
        return file_digest(self._path)

    def signature(self) -> dict[str, Any]:
        return file_signature(self._path)

    def iter_episodes(self) -> Iterator[Episode]:
        for i, e in enumerate(self._episodes):
            terminated = bool(e["terminated"])
            obs, actions, rewards = e["observations"], e["actions"], e["rewards"].reshape(-1)
            if self._task.is_discrete and actions.ndim == 2 and actions.shape[1] == 1:
                actions = actions.reshape(len(actions))
            if terminated:
                obs = np.concatenate([obs, np.zeros_like(obs[:1])])
            else:
                actions, rewards = actions[:-1], rewards[:-1]
            yield Episode.from_rollout(observations=obs, actions=actions, rewards=rewards,
                                       terminated=terminated,
                                       metadata={F.EPISODE_ID: int(self._ids[i])})

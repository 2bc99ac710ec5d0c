"""Minari datasets on local disk as a `Source` (`minari:<path or dataset id>`).

Read with h5py from Minari's HDF5 storage layout (Minari 0.4/0.5; the `minari`
package is not needed, and is not installed here): `<dataset dir>/data/metadata.json`
(`total_episodes`, `observation_space`/`action_space` serialised as JSON strings,
`data_format` "hdf5", optional `env_spec`, `ref_min_score`, `ref_max_score`) and
`<dataset dir>/data/main_data.hdf5`, one group `episode_<i>` per episode holding
`observations` (T + 1 rows: o_0..o_T, or a group per key for Dict spaces), `actions`,
`rewards`, `terminations` and `truncations` (T rows). A dataset id is looked up under
$MINARI_DATASETS_PATH (default ~/.minari/datasets).

Alignment: Minari's steps are already (o_k, a_k, r_k, o_{k+1}) with the final
observation kept, so episodes map one to one; `terminations[T-1]` gives is_terminal
and discount 0, otherwise the episode was truncated. Episode ids: the group's
`rlu_episode_id` attr (written by the suite's export) else its index. Dict
observations are flattened in sorted key order (recorded as the ad-hoc task's
`observation_keys`). Arrow-format Minari datasets are refused (not read here).
"""

from __future__ import annotations

import hashlib
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
from rl_unplugged.errors import CorruptDataError, IncompatibleError, NotFoundError
from rl_unplugged.specs import TaskSpec

DATASETS_ENV = "MINARI_DATASETS_PATH"
MAIN = "main_data.hdf5"


def minari_root() -> Path:
    return Path(os.environ.get(DATASETS_ENV) or "~/.minari/datasets").expanduser()


def resolve(path_or_id: str) -> Path:
    """The dataset directory: a local path holding data/metadata.json, else an id under
    `minari_root()`.

    Raises:
      NotFoundError: neither exists (names both places).
    """
    for candidate in (Path(path_or_id).expanduser(), minari_root() / path_or_id):
        if (candidate / "data" / "metadata.json").is_file():
            return candidate
    raise NotFoundError(f"no Minari dataset at {path_or_id} nor under {minari_root()} "
                        f"(needs data/metadata.json)")


def _space(serialised: str | None, what: str, where: Path) -> dict[str, Any]:
    if serialised is None:
        raise CorruptDataError(f"{where}: metadata has no {what} (datasets that only keep "
                               f"env_spec need gymnasium; not read here)")
    return json.loads(serialised) if isinstance(serialised, str) else serialised


class MinariSource(Source):
    """A local Minari dataset (HDF5 storage); see the module docstring."""

    def __init__(self, path_or_id: str | os.PathLike, *, task: TaskSpec | None = None,
                 name: str | None = None):
        """Raises: NotFoundError: no dataset there. CorruptDataError: unreadable
        metadata or HDF5, or a missing field (names the file and the field).
        IncompatibleError: a data format other than hdf5."""
        self._dir = resolve(str(path_or_id))
        self._meta_path = self._dir / "data" / "metadata.json"
        self._file = self._dir / "data" / MAIN
        try:
            self._meta = json.loads(self._meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptDataError(f"{self._meta_path}: unreadable metadata ({e})") from None
        if self._meta.get("data_format", "hdf5") != "hdf5":
            raise IncompatibleError(f"{self._meta_path}: data_format "
                                    f"{self._meta['data_format']!r}; only hdf5 is read")
        if not self._file.is_file():
            raise CorruptDataError(f"{self._file}: missing Minari data file")
        self._name = name or str(self._meta.get("dataset_id") or self._dir.name)
        recorded = self._meta.get("rlu_task")
        if task is None and recorded is not None:
            task = adhoc.task_from_json(recorded)
        super().__init__(name=self._name, uri=f"minari:{self._dir.resolve()}",
                         task=task or self._adhoc_task())

    def _adhoc_task(self) -> TaskSpec:
        obs = _space(self._meta.get("observation_space"), "observation_space", self._meta_path)
        act = _space(self._meta.get("action_space"), "action_space", self._meta_path)
        keys: tuple = ()
        if obs["type"] == "Dict":
            subspaces = obs["subspaces"]
            keys = tuple((k, tuple(subspaces[k]["shape"])) for k in sorted(subspaces))
            shape, dtype = (sum(int(np.prod(s)) for _, s in keys),), "float32"
        elif obs["type"] == "Box":
            shape, dtype = tuple(obs["shape"]), obs["dtype"]
        elif obs["type"] == "Discrete":
            shape, dtype = (), "int64"
        else:
            raise IncompatibleError(f"{self._meta_path}: observation space {obs['type']} is "
                                    f"not read (Box, Discrete or Dict of Box)")
        if act["type"] == "Discrete":
            from rl_unplugged.specs import ActionSpec

            action = ActionSpec.discrete(int(act["n"]))
        elif act["type"] == "Box" and len(act["shape"]) == 1:
            action = adhoc.infer_action(np.zeros((1, act["shape"][0]), np.float32),
                                        minimum=act["low"], maximum=act["high"])
        else:
            raise IncompatibleError(f"{self._meta_path}: action space {act} is not read "
                                    f"(Discrete, or a 1-d Box)")
        env_id = self._meta.get("env_id") or ""
        if not env_id and self._meta.get("env_spec"):
            try:
                env_id = json.loads(self._meta["env_spec"]).get("id", "")
            except (json.JSONDecodeError, AttributeError):
                env_id = ""
        longest = max((int(m) for m in self._episode_lengths()), default=1)
        return adhoc.adhoc_task(self._name, observation_shape=shape or (1,),
                                observation_dtype=dtype, action=action,
                                max_episode_steps=longest, env_id=env_id,
                                observation_keys=keys)

    def _open(self):
        import h5py

        try:
            return h5py.File(self._file, "r")
        except OSError as e:
            raise CorruptDataError(f"{self._file}: unreadable HDF5 file ({e})") from None

    def _episode_lengths(self) -> list[int]:
        with self._open() as f:
            return [len(f[f"episode_{i}"]["rewards"]) for i in range(self._count(f))]

    def _count(self, f) -> int:
        total = int(self._meta.get("total_episodes", len(f.keys())))
        if total > len(f.keys()):
            raise CorruptDataError(f"{self._file}: {len(f.keys())} episode groups, "
                                   f"metadata says {total}")
        return total

    @property
    def metadata(self) -> dict[str, Any]:
        keep = ("dataset_id", "total_episodes", "total_steps", "minari_version",
                "ref_min_score", "ref_max_score", "env_id")
        return {"format": "minari-hdf5", "directory": str(self._dir.resolve()),
                **{k: self._meta[k] for k in keep if k in self._meta}}

    def fingerprint(self) -> str:
        from rl_unplugged import fileio

        h = hashlib.sha256(self._meta_path.read_bytes())
        h.update(fileio.sha256_file(self._file).encode())
        return h.hexdigest()

    def signature(self) -> dict[str, Any]:
        out = {}
        for p in (self._meta_path, self._file):
            st = p.stat()
            out[p.name] = [st.st_size, st.st_mtime_ns]
        return out

    def _observations(self, node, where: str):
        import h5py

        if isinstance(node, h5py.Group):
            return {k: np.asarray(node[k][()]) for k in node.keys()}
        return np.asarray(node[()])

    def iter_episodes(self) -> Iterator[Episode]:
        with self._open() as f:
            for i in range(self._count(f)):
                where = f"{self._file}: episode_{i}"
                if f"episode_{i}" not in f:
                    raise CorruptDataError(f"{where}: missing episode group")
                g = f[f"episode_{i}"]
                missing = [k for k in ("observations", "actions", "rewards", "terminations",
                                       "truncations") if k not in g]
                if missing:
                    raise CorruptDataError(f"{where}: missing field(s) {missing}")
                terminations = np.asarray(g["terminations"][()], bool)
                actions = np.asarray(g["actions"][()])
                if self._task.is_discrete and actions.ndim == 2 and actions.shape[1] == 1:
                    actions = actions.reshape(len(actions))
                eid = int(g.attrs.get("rlu_episode_id", g.attrs.get("id", i)))
                try:
                    yield Episode.from_rollout(
                        observations=self._observations(g["observations"], where),
                        actions=actions, rewards=np.asarray(g["rewards"][()]),
                        terminated=bool(terminations[-1]) if len(terminations) else False,
                        metadata={F.EPISODE_ID: eid})
                except ValueError as e:
                    raise CorruptDataError(f"{where}: {e}") from None

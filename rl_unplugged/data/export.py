"""Exports of a store to other libraries' formats: flat npz, Minari, d3rlpy.

npz (`export_npz`, read back by `rl_unplugged.data.sources_npz.NpzSource`): one row per
transition, in the store's (logged) order, arrays

  observation       (N, *obs)   stored dtype (dict observations: the flat vector)
  action            (N,) int32 discrete, or (N, A) float32
  reward            (N,) float32
  discount          (N,) float32, 0 where next_observation is a true terminal state
  next_observation  (N, *obs)
  terminal          (N,) bool, the last row of an episode that terminated
  truncated         (N,) bool, the last row of an episode the time limit cut
  episode_id        (N,) uint64 (the store's int64 ids, bit for bit; unique per episode)
  step              (N,) int32, the row's index within its episode
  source_episode_id (N,) uint64, only where the store keeps the source's own episode ids
                    (episode metadata `source_episode_id`, int64 bits): RL Unplugged
                    Atari's original uint64 ids (DMLab's int64 ones); may repeat where
                    the source's rows of one episode did not chain into one
  task              () str, the task as JSON (`rl_unplugged.data.adhoc.task_to_json`)

Minari (`export_minari`): the HDF5 storage of Minari 0.5 (`<dir>/data/metadata.json`
and `<dir>/data/main_data.hdf5`, one group `episode_<i>` per episode with
`observations` (T + 1), `actions`, `rewards`, `terminations`, `truncations` (T) and
attrs `id`, `total_steps`, `rlu_episode_id`), observation and action spaces serialised
as Minari's `serialize_space` writes them, `ref_min_score`/`ref_max_score` from the
task's evaluation references when it has them, and the task as `rlu_task`. For
`minari.load_dataset(ID)`, write to `$MINARI_DATASETS_PATH/<ID>` (ID such as
`rlu/catch-noise0-run0-v0`).

d3rlpy (`export_d3rlpy`): the HDF5 file `ReplayBuffer.dump` writes in d3rlpy 2.8
(`version` "2.1", `columns`, `num_episodes`, per episode `observations_<i>`,
`actions_<i>` (T, 1) int32 or (T, A) float32, `rewards_<i>` (T, 1) float32,
`terminated_<i>`), written from that specification with h5py (d3rlpy is not needed).
d3rlpy counts `size - 1` transitions in an episode that did not terminate (it has no
next observation for the last row), so a truncated episode gets one more row: its
final observation, with a zero action and reward that no transition uses. A terminated
episode has T rows; d3rlpy's next observation of its last transition is zeros (the
store's final observation is not kept). `benchmarks/interchange_d3rlpy_check.py`
loads such a file with d3rlpy itself.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged import fileio
from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data import store as S
from rl_unplugged.data import transitions as T
from rl_unplugged.data.imported import TASK_KEY
from rl_unplugged.specs import TaskSpec

D3RLPY_VERSION = "2.1"  # d3rlpy.dataset.io.DATASET_VERSION in d3rlpy 2.8.
MINARI_VERSION = "0.5.4"


def _flags(data: T.Transitions, index: S.EpisodeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(terminal, truncated) per transition: set on the last row of each episode."""
    last = index.start + index.length - 1
    terminal = np.zeros(data.size, bool)
    terminal[last[index.terminated]] = True
    truncated = np.zeros(data.size, bool)
    truncated[last[~index.terminated]] = True
    return terminal, truncated


def _source_episode_ids(index: S.EpisodeIndex) -> dict[str, np.ndarray]:
    """{'source_episode_id': (N,) uint64} where the store keeps the source's ids, else {}."""
    original = index.metadata.get(F.SOURCE_EPISODE_ID)
    if original is None:
        return {}
    # Episodes are stored contiguously in index order (store.convert): one repeat.
    rows = np.repeat(np.asarray(original, np.int64), index.length)
    return {F.SOURCE_EPISODE_ID: rows.view(np.uint64)}


def export_npz(store: S.Store, task: TaskSpec, path: str | os.PathLike) -> Path:
    """Writes the store's transitions as one npz (see the module docstring); atomic."""
    data = store.transitions()
    index = store.episodes()
    terminal, truncated = _flags(data, index)
    arrays = {
        "observation": data.observation, "action": data.action, "reward": data.reward,
        "discount": data.discount, "next_observation": data.next_observation,
        "terminal": terminal, "truncated": truncated,
        "episode_id": np.asarray(data.episode_id, np.int64).view(np.uint64),
        **_source_episode_ids(index),
        "step": data.step, "task": np.asarray(json.dumps(adhoc.task_to_json(task))),
    }

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return fileio.atomic_write(path, write)


def _box(shape, dtype, low, high) -> str:
    return json.dumps({"type": "Box", "dtype": str(np.dtype(dtype)), "shape": list(shape),
                       "low": np.broadcast_to(low, shape).tolist(),
                       "high": np.broadcast_to(high, shape).tolist()})


def minari_spaces(task: TaskSpec) -> tuple[str, str]:
    """(observation_space, action_space) serialised as Minari's `serialize_space` does."""
    obs = task.observation
    if np.issubdtype(np.dtype(obs.dtype), np.integer):
        info = np.iinfo(np.dtype(obs.dtype))
        low, high = info.min, info.max
    else:
        low, high = -math.inf, math.inf
    observation = _box(obs.shape, obs.dtype, low, high)
    if task.action.is_discrete:
        action = json.dumps({"type": "Discrete", "dtype": "int64", "start": 0,
                             "n": task.action.num_values})
    else:
        action = _box(task.action.shape, "float32", task.action.minimum, task.action.maximum)
    return observation, action


def export_minari(store: S.Store, task: TaskSpec, directory: str | os.PathLike, *,
                  dataset_id: str | None = None,
                  references: tuple[float, float] | None = None) -> Path:
    """Writes the store as a Minari dataset directory (see the module docstring); atomic.

    Args:
      store, task: what to export.
      directory: the dataset's directory (replaced whole if it exists).
      dataset_id: Minari's id (default: the directory's last two parts).
      references: (ref_min_score, ref_max_score), e.g. the protocol's random and
        expert returns; left out when None.
    """
    import h5py

    directory = Path(directory)
    data = store.transitions()
    index = store.episodes()
    observation_space, action_space = minari_spaces(task)
    metadata: dict[str, Any] = {
        "dataset_id": dataset_id or f"{directory.parent.name}/{directory.name}",
        "total_episodes": index.num_episodes, "total_steps": data.size,
        "data_format": "hdf5", "observation_space": observation_space,
        "action_space": action_space, "minari_version": MINARI_VERSION,
        "algorithm_name": "rl_unplugged", "author": "rl_unplugged export",
        "dataset_size": 0, TASK_KEY: adhoc.task_to_json(task),
        "rlu_source": store.source.get("name"),
    }
    if task.env_id:
        metadata["env_id"] = task.env_id
    if references is not None:
        metadata["ref_min_score"], metadata["ref_max_score"] = map(float, references)

    def fill(tmp: Path) -> None:
        (tmp / "data").mkdir()
        with h5py.File(tmp / "data" / "main_data.hdf5", "w", track_order=True) as f:
            for i in range(index.num_episodes):
                part = index.slice(i)
                g = f.create_group(f"episode_{i}")
                g.attrs["id"] = i
                g.attrs["total_steps"] = int(index.length[i])
                g.attrs["rlu_episode_id"] = int(index.episode_id[i])
                obs = np.concatenate([data.observation[part],
                                      data.next_observation[part.stop - 1:part.stop]])
                g.create_dataset("observations", data=obs)
                action = np.asarray(data.action[part])
                g.create_dataset("actions", data=action.astype(np.int64)
                                 if task.action.is_discrete else action)
                g.create_dataset("rewards", data=np.asarray(data.reward[part], np.float64))
                flags = np.zeros(part.stop - part.start, bool)
                g.create_dataset("terminations", data=flags | (
                    (np.arange(len(flags)) == len(flags) - 1) & bool(index.terminated[i])))
                g.create_dataset("truncations", data=flags | (
                    (np.arange(len(flags)) == len(flags) - 1) & (not index.terminated[i])))
        size = (tmp / "data" / "main_data.hdf5").stat().st_size
        metadata["dataset_size"] = round(size / 1e6, 1)
        (tmp / "data" / "metadata.json").write_text(json.dumps(metadata))

    return fileio.atomic_directory(directory, fill)


def export_d3rlpy(store: S.Store, task: TaskSpec, path: str | os.PathLike) -> Path:
    """Writes the store as a d3rlpy 2.8 ReplayBuffer HDF5 file (module docstring); atomic."""
    import h5py

    data = store.transitions()
    index = store.episodes()

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("columns", data=[b"observations", b"actions", b"rewards",
                                              b"terminated"])
            f.create_dataset("num_episodes", data=index.num_episodes)
            for i in range(index.num_episodes):
                part = index.slice(i)
                obs = np.asarray(data.observation[part])
                action = np.asarray(data.action[part]).reshape(part.stop - part.start, -1)
                reward = np.asarray(data.reward[part], np.float32).reshape(-1, 1)
                terminated = bool(index.terminated[i])
                if not terminated:  # The final-observation row (module docstring).
                    obs = np.concatenate([obs, data.next_observation[part.stop - 1:part.stop]])
                    action = np.concatenate([action, np.zeros_like(action[:1])])
                    reward = np.concatenate([reward, np.zeros_like(reward[:1])])
                f.create_dataset(f"observations_{i}", data=obs)
                f.create_dataset(f"actions_{i}", data=action)
                f.create_dataset(f"rewards_{i}", data=reward)
                f.create_dataset(f"terminated_{i}", data=terminated)
            f.create_dataset("version", data=D3RLPY_VERSION)
            # Not among `columns`: d3rlpy ignores it; `D3rlpySource` reads the task back.
            f.create_dataset(TASK_KEY, data=json.dumps(adhoc.task_to_json(task)))
            f.create_dataset("rlu_episode_id", data=np.asarray(index.episode_id, np.int64))

    return fileio.atomic_write(path, write)

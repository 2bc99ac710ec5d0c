"""Normalisation references: measured under each protocol's own settings and seeds.

- random: a uniform random policy, i.e. the evaluator with epsilon 1.0 (actions from
  `np.random.default_rng(episode_seed)`), over the protocol's evaluation seeds: exactly
  reproducible and independent of batching.
- expert: the greedy policy of the expert checkpoint of the logged behaviour DQN of the
  task (`generation.best_checkpoint`: the checkpoint whose logged episodes had the highest
  mean return; the final one can be a collapsed DQN), measured with `measure_reference`
  over the same seeds (`measure_expert_reference`).

Both records land in the package-data file `data/references.json` (written by
`rlu protocols references`), which `protocols.derive_protocols` folds into the
protocols: normalised scores depend on the references, so they are part of each
protocol's `hash` (see `protocols.py`). A reference not yet measured is recorded as
`{"value": null, "status": "pending", "note": ...}` and normalisation refuses it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import rl_unplugged
from rl_unplugged import fileio, registry
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.evaluation.evaluator import Policy, run_episodes

REFERENCES_FORMAT = "rl_unplugged normalisation references"
EXPERT_PENDING_NOTE = (
    "expert reference pending: to be measured with measure_expert_reference(), the greedy "
    "policy of the best checkpoint of the task's logged behaviour DQN "
    "(rl_unplugged.generation) once those runs exist")


def _zeros_policy(obs: np.ndarray) -> np.ndarray:
    return np.zeros(obs.shape[0], np.int64)


def _placeholder_policy(task_id: str):
    """A policy whose actions epsilon 1.0 always replaces: int zeros (discrete) or float
    zeros (B, A) (continuous; the evaluator then draws uniform actions in the bounds)."""
    task = registry.get_task(task_id)
    if task.is_discrete:
        return _zeros_policy
    return lambda obs: np.zeros((obs.shape[0], *task.action.shape), np.float32)


def measure_reference(policy: Policy, task_id: str, *, how: str, epsilon: float | None = None,
                      num_envs: int = 16) -> dict[str, Any]:
    """Measures a reference return: `policy` under the protocol settings of `task_id`.

    Args:
      policy: batched policy obs (B, *obs_shape) -> actions (B,).
      task_id: registered task id.
      how: description recorded with the value (which policy, which checkpoint).
      epsilon: evaluation epsilon; defaults to the protocol's.
      num_envs: parallel environments (does not change the result).

    Returns:
      A reference record: value (mean return), std, num_episodes, the seeds rule,
      how, when, package version.
    """
    settings = protocols_lib.settings(task_id)
    eps = settings["evaluation"]["epsilon"] if epsilon is None else epsilon
    stats = run_episodes(policy, task_id, settings["evaluation"]["episode_seeds"],
                         num_envs=num_envs, epsilon=eps)
    return {
        "value": float(stats.returns.mean()),
        "status": "measured",
        "std": float(stats.returns.std()),
        "num_episodes": len(stats.seeds),
        "seeds": "the protocol's evaluation episode_seeds",
        "epsilon": eps,
        "how": how,
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "package_version": rl_unplugged.__version__,
    }


def measure_random_reference(task_id: str, num_envs: int = 16) -> dict[str, Any]:
    """The uniform-random reference of a task (epsilon 1.0 under its protocol seeds)."""
    return measure_reference(
        _placeholder_policy(task_id), task_id, epsilon=1.0, num_envs=num_envs,
        how="uniform random policy: evaluator with epsilon 1.0, actions drawn from "
            "numpy.random.default_rng(episode_seed), over the protocol's episode seeds")


def measure_expert_reference(task_id: str, data_dir=None, *, run: int = 0,
                             num_envs: int = 16) -> dict[str, Any]:
    """The expert reference: the greedy expert checkpoint of the task's behaviour DQN.

    The checkpoint is `generation.best_checkpoint` (highest mean logged return of the
    episodes it played), the same one that plays the task's `expert` datasets.

    Uses the `noise0` replay run `run` under `data_dir` (generated first if missing;
    generation is a pure function of the dataset spec, so any machine gets the same
    checkpoint), and records the raw log's manifest digest as provenance.
    """
    import hashlib

    from rl_unplugged import generation
    from rl_unplugged.data.raw_log import MANIFEST

    task = registry.get_task(task_id)
    spec = registry.get_dataset(f"rlu_{task.domain}/{task.name}_noise0_run{run}")
    log = generation.generate(spec, data_dir)
    _, params, info = generation.load_checkpoint(log.directory,
                                                 generation.best_checkpoint(log.directory))
    policy = generation.greedy_policy(task, params, task.behaviour.hidden)
    digest = hashlib.sha256((log.directory / MANIFEST).read_bytes()).hexdigest()
    return measure_reference(
        policy, task_id, num_envs=num_envs,
        how=f"greedy policy of the best checkpoint by logged return (index {info['index']}, "
            f"{info['env_steps']} env steps) of the behaviour double DQN that logged "
            f"{spec.name} (raw-log manifest sha256 {digest[:16]})")


CONTINUOUS_EXPERT_PENDING_NOTE = (
    "expert reference pending: no converged behaviour agent yet; to be measured with "
    "measure_reference() on the deterministic (mean) action of the best checkpoint of the "
    "task's logged D4PG (rl_unplugged.generation.d4pg) once a run reaches competence")


def pending_expert(task_id: str | None = None) -> dict[str, Any]:
    """A pending expert record (its note names the continuous tasks' D4PG where it applies)."""
    continuous = task_id is not None and not registry.get_task(task_id).is_discrete
    return {"value": None, "status": "pending",
            "note": CONTINUOUS_EXPERT_PENDING_NOTE if continuous else EXPERT_PENDING_NOTE}


def record_references(path: str | Path, *, tasks: list[str] | None = None,
                      existing: Mapping[str, Any] | None = None,
                      expert: Mapping[str, Mapping[str, Any]] | None = None,
                      num_envs: int = 16) -> dict[str, Any]:
    """Measures random references (and takes given expert records) into a JSON file.

    Args:
      path: output file (the package-data file is `rl_unplugged/evaluation/data/
        references.json`).
      tasks: task ids whose random reference to (re)measure; default (None) all
        registered tasks; [] none (e.g. to record expert values only).
      existing: a references document whose other tasks are kept unchanged.
      expert: {task_id: expert record from `measure_reference`}; tasks not given keep
        their existing expert record, or get a pending one.
      num_envs: parallel environments.

    Returns:
      The references document written.
    """
    doc = {"format": REFERENCES_FORMAT, "tasks": {}}
    if existing:
        doc["tasks"].update(json.loads(json.dumps(existing.get("tasks", {}))))
    expert = dict(expert or {})
    for task_id in [t.id for t in registry.tasks()] if tasks is None else tasks:
        registry.get_task(task_id)
        old = doc["tasks"].get(task_id, {})
        doc["tasks"][task_id] = {
            "random": measure_random_reference(task_id, num_envs=num_envs),
            "expert": expert.pop(task_id, None) or old.get("expert") or pending_expert(task_id),
        }
    for task_id, record in expert.items():  # Expert-only updates.
        doc["tasks"].setdefault(task_id, {"random": None})["expert"] = record
    fileio.write_json(path, doc)
    return doc

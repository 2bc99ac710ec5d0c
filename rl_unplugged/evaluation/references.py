"""Normalisation references: measured under each protocol's own settings and seeds.

- random: a uniform random policy, i.e. the evaluator with epsilon 1.0 (actions from
  `evaluator.action_rng(episode_seed)`), over the protocol's evaluation seeds: exactly
  reproducible and independent of batching.
- expert: the better of two greedy behaviour-DQN checkpoints (continuous tasks: the
  D4PG's checkpoints playing their mean action) measured with
  `measure_reference` over the same seeds (`measure_expert_reference`): the best
  checkpoint (by greedy return on held-out seeds, `generation.best_checkpoint_greedy`;
  the final one can be a collapsed DQN) of the task's logged `noise0` run, and that of
  a separately trained run twice as long (`long_run_spec`; for the tasks in
  `LONG_RUN_AGENT`, another agent's long run: HalfCheetah's is the fallback SAC).

Both records land in the package-data file `data/references.json` (written by
`rlu protocols references`), which `protocols.derive_protocols` folds into the
protocols: normalised scores depend on the references, so they are part of each
protocol's `hash` (see `protocols.py`). A reference not yet measured is recorded as
`{"value": null, "status": "pending", "note": ...}` and normalisation refuses it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import rl_unplugged
from rl_unplugged import fileio, paths, registry
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.evaluation.evaluator import Policy, run_episodes
from rl_unplugged.specs import DatasetSpec, TaskSpec

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
            "evaluator.action_rng(episode_seed) (a SeedSequence child of the seed), over the "
            "protocol's episode seeds")


LONG_RUN_FACTOR = 2  # The long run's environment steps, in behaviour-run lengths.
LONG_RUN_DIR = "rlu_expert_long"  # Under the data root: never a registered dataset's path.
# Tasks whose long run is not the behaviour algorithm's: {task id: agent}. HalfCheetah's
# D4PG misses its competence target and depends strongly on the seed (4,408 at 500k for
# run 0's seed, 2,088 at 700k for run 1's: datasets/behaviour_competence.md, runs I and
# "long run"), so its long run is the fallback, online SAC (`generation.sac`),
# as D4RL's expert policies were. Its log goes under `LONG_RUN_DIR + "_" + agent`.
LONG_RUN_AGENT: dict[str, str] = {"mujoco/halfcheetah": "sac"}
# The SAC long run's settings (`generation.sac.SACConfig`): 10,000 uniform steps first.
# Without them, HalfCheetah's SAC stalled (mean logged return 1,473 over episodes 200-225
# with run 1's seed, 1,326 over 150-175 with run 0's); with them the same seeds logged
# 4,992 over episodes 125-150 and 3,167 over 50-75 (datasets/behaviour_competence.md, P).
LONG_RUN_SAC_SETTINGS: dict[str, Any] = {"random_steps": 10_000}


def long_run_spec(task: TaskSpec, run: int = 0) -> DatasetSpec:
    """The separately trained long run of a task's expert reference (issue 8).

    The same behaviour algorithm and config, `LONG_RUN_FACTOR` times as many
    environment steps, and another seed: the seed of replay run `run + 1` (mod
    num_runs), so it is not a continuation of the run whose checkpoints it competes
    with. It is generated under `<data_dir>/rlu_expert_long/` (its config name equals a
    registered dataset's, its generation config does not).
    """
    steps = LONG_RUN_FACTOR * task.behaviour.num_steps
    long_task = dataclasses.replace(
        task, behaviour=dataclasses.replace(task.behaviour, num_steps=steps))
    return DatasetSpec(task=long_task, level="replay", noise=0.0,
                       run=(run + 1) % task.num_runs, num_steps=steps)


def _expert_candidate(log_dir: Path, task: TaskSpec, label: str, num_envs: int,
                      dataset: str | None = None) -> dict[str, Any]:
    """`dataset`: the registered dataset the log builds (the behaviour run), whose
    recorded build the candidate is compared with (`reference_builds.build_note`)."""
    from rl_unplugged import generation
    from rl_unplugged.data import reference_builds
    from rl_unplugged.data.raw_log import manifest_digest, read_manifest

    if task.is_discrete:
        best, means = generation.best_checkpoint_greedy(log_dir, task)
        _, params, info = generation.load_checkpoint(log_dir, sorted(means).index(best))
        hidden = tuple(read_manifest(log_dir)["generation"]["behaviour"]["hidden"])
        policy, kind = generation.greedy_policy(task, params, hidden), "greedy policy"
    else:  # The D4PG's deterministic (mean) action, as the protocols evaluate.
        from rl_unplugged.generation import continuous

        best, means = continuous.best_checkpoint(log_dir, task)
        agent, params, info = continuous.load_checkpoint(log_dir, sorted(means).index(best))
        policy, kind = continuous.mean_action_policy(agent, params), "mean action"
    digest = manifest_digest(log_dir)
    note = "" if dataset is None else reference_builds.build_note(dataset, digest)
    return measure_reference(
        policy, task.id, num_envs=num_envs,
        how=f"{kind} of the {label}'s best checkpoint by {kind} return on held-out "
            f"selection seeds (index {info['index']} of {len(means)}, {info['env_steps']} "
            f"env steps, held-out mean {means[best]:.4g}; raw-log manifest sha256 "
            f"{digest[:16]}{note})")


def _long_run_as_is(long_spec: DatasetSpec, root: Path, generation: dict
                    ) -> tuple[Path, str]:
    """An existing long-run log as far as it ran (not resumed): its directory and how far.

    Refuses what `RawLogWriter.open` would: a log of another dataset or generation config.
    """
    from rl_unplugged.data.raw_log import read_manifest, unmarked
    from rl_unplugged.errors import IncompatibleError

    directory = paths.raw_dir(long_spec, root)
    manifest = read_manifest(directory)
    if manifest is None:
        raise FileNotFoundError(f"no long-run log of {long_spec.name} at {directory}: "
                                "build it first, or measure without --long-run-as-is")
    if (manifest["dataset"] != long_spec.name
            or unmarked(manifest["generation"]) != generation):
        raise IncompatibleError(f"{directory} holds a log of another generation config than "
                                f"{long_spec.name}'s long run: {manifest['generation']} != "
                                f"{generation}")
    if not manifest["checkpoints"]:
        raise ValueError(f"{directory}: the long run has no checkpoint yet")
    if manifest["complete"]:
        return directory, ""
    done = max(c["env_steps"] for c in manifest["checkpoints"])
    return directory, f"; not finished: checkpoints to {done} of {long_spec.num_steps} steps"


_AS_RECORDED = "as recorded on"  # A reused candidate's note: "as recorded on <date>, ...".


def _behaviour_label(dataset: str) -> str:
    return f"behaviour run {dataset}"


def _recorded_behaviour_candidate(task_id: str, dataset: str) -> dict[str, Any]:
    """The behaviour-run candidate of the task's recorded expert reference, as recorded.

    For measuring a long run beside a behaviour run measured before, without rebuilding
    the behaviour run (hours for a D4PG run; a rebuild is not byte-identical either, see
    `reference_builds`). Refused when the record has no measured candidate of `dataset`.
    The candidate comes back as a whole measurement (status, episodes, seeds rule,
    epsilon and version of the record, its own time), so a record it wins is complete;
    reusing a reused candidate keeps its first "as recorded" note and time.
    """
    from rl_unplugged.errors import NotFoundError

    record = protocols_lib.load_references()["tasks"].get(task_id, {}).get("expert") or {}
    tag = f"{_behaviour_label(dataset)}'s"  # As `_expert_candidate` writes it.
    found = [c for c in record.get("candidates", []) if tag in c["how"]]
    if record.get("status") != "measured" or len(found) != 1:
        raise NotFoundError(f"{task_id}: the recorded expert reference has no measured "
                            f"candidate of the behaviour run {dataset} to reuse; measure "
                            "it (without --behaviour-as-recorded)")
    num_episodes = protocols_lib.settings(task_id)["evaluation"]["num_episodes"]
    if record.get("num_episodes") != num_episodes:
        raise NotFoundError(f"{task_id}: the recorded expert reference was measured over "
                            f"{record.get('num_episodes')} episodes, the protocol has "
                            f"{num_episodes}; measure it again")
    candidate = found[0]
    # Older records keep a candidate's time only on the record (all measured together).
    measured_at = candidate.get("measured_at", record["measured_at"])
    how = candidate["how"]
    if _AS_RECORDED not in how:
        how += f"; {_AS_RECORDED} {measured_at[:10]}, not re-measured"
    fields = {k: record[k] for k in ("status", "num_episodes", "seeds", "epsilon",
                                     "package_version") if k in record}
    return {**fields, **candidate, "how": how, "measured_at": measured_at}


def measure_expert_reference(task_id: str, data_dir=None, *, run: int = 0,
                             num_envs: int = 16, long_run: bool = True,
                             long_run_as_is: bool = False,
                             behaviour_as_recorded: bool = False) -> dict[str, Any]:
    """The expert reference: the better of two greedy behaviour-DQN checkpoints.

    Candidates, each the checkpoint with the highest mean greedy return on held-out
    selection seeds (`generation.best_checkpoint_greedy`, never the protocol's seeds),
    measured under the protocol:
      - the behaviour run: the `noise0` replay run `run`, whose chosen checkpoint also
        plays the task's `expert` datasets (the candidate says whether the log measured
        is the dataset's recorded build, `reference_builds.build_note`);
      - the long run (`long_run_spec`): the same algorithm trained
        `LONG_RUN_FACTOR` times longer from another seed (or the agent
        `LONG_RUN_AGENT` names for the task; skipped with `long_run=False`, which the
        record then says).
    The value is the higher candidate's mean; every candidate is recorded. Both logs are
    generated first if missing (generation is a pure function of the spec); with
    `long_run_as_is` the long run's existing log is measured as far as it ran (its
    generation config checked, not resumed), and its candidate says how far. With
    `behaviour_as_recorded` the behaviour run's candidate is the recorded expert
    reference's, not re-measured (`_recorded_behaviour_candidate`; needs `long_run`).
    """
    from rl_unplugged import generation

    task = registry.get_task(task_id)
    spec = registry.get_dataset(f"rlu_{task.domain}/{task.name}_noise0_run{run}")
    if behaviour_as_recorded:
        if not long_run:
            raise ValueError("behaviour_as_recorded measures only the long run: it needs "
                             "long_run=True")
        candidates = [_recorded_behaviour_candidate(task_id, spec.name)]
    else:
        log = generation.generate(spec, data_dir)
        candidates = [_expert_candidate(log.directory, task, _behaviour_label(spec.name),
                                        num_envs, dataset=spec.name)]
    if long_run:
        long_spec = long_run_spec(task, run)
        agent = LONG_RUN_AGENT.get(task_id)
        if agent is None:
            long_root, label, config = paths.data_dir(data_dir) / LONG_RUN_DIR, "long run", None
        else:  # Only 'sac' so far (continuous tasks).
            from rl_unplugged.generation import sac

            if agent != "sac" or task.is_discrete:
                raise ValueError(f"LONG_RUN_AGENT[{task_id!r}] = {agent!r}: only 'sac' for a "
                                 "continuous task")
            long_root = paths.data_dir(data_dir) / f"{LONG_RUN_DIR}_{agent}"
            config = sac.SACConfig(**LONG_RUN_SAC_SETTINGS)
            label = "long run of the fallback SAC ({})".format(
                ", ".join(f"{k}={v}" for k, v in LONG_RUN_SAC_SETTINGS.items()))
        from rl_unplugged.generation import continuous
        from rl_unplugged.generation import generate as generate_module

        if long_run_as_is:  # The generation config `generate` would write, checked.
            expected = (generate_module.generation_config(long_spec, None) if task.is_discrete
                        else continuous.generation_config(
                            long_spec, config or continuous.d4pg.D4PGConfig()))
            long_dir, how_far = _long_run_as_is(long_spec, long_root, expected)
        else:
            long_dir, how_far = (
                generation.generate(long_spec, long_root) if config is None else
                continuous.generate(long_spec, long_root, config=config)).directory, ""
        candidates.append(_expert_candidate(
            long_dir, task, f"{label} ({long_spec.num_steps} steps, seed of "
            f"run {long_spec.run}{how_far})", num_envs))
    best = max(candidates, key=lambda c: c["value"])
    record = dict(best)
    record["how"] = ("best of " + ("two" if long_run else "one (long run not measured)")
                     + " candidates: " + best["how"])
    record["candidates"] = [{k: c[k] for k in ("value", "std", "how", "measured_at")}
                            for c in candidates]
    return record


CONTINUOUS_EXPERT_PENDING_NOTE = (
    "expert reference pending: no competent run measured yet; to be measured with "
    "`rlu protocols references --expert` (measure_expert_reference): the better of the "
    "deterministic (mean) actions of the best checkpoints of the behaviour D4PG run and of "
    "a long run (by the agent references.LONG_RUN_AGENT names for the task, else the D4PG)")


def pending_expert(task_id: str | None = None) -> dict[str, Any]:
    """A pending expert record (its note says how a continuous task's is measured)."""
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
      tasks: task ids whose random reference to (re)measure; default (None) every
        registered task whose datasets are built here (not Atari); [] none (e.g. to
        record expert values only).
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
    # Default: the tasks built here; Atari's are published (`atari_references.py`).
    measured = [t.id for t in registry.tasks() if t.builds_datasets]
    for task_id in measured if tasks is None else tasks:
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

"""Baseline runs: train an ensemble on a track's datasets, evaluate, make a submission.

A baseline is a frozen `BaselineConfig` (JSON files under the repository's
`baselines/configs/`); `run` trains one ensemble per task (one member per seed,
vmapped), evaluates every member's final checkpoint under the task's frozen
protocol, and assembles a validated leaderboard submission. The quickstart and the
committed baseline entries both go through here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rl_unplugged import fileio, registry
from rl_unplugged.errors import ConfigError, CorruptDataError, UnknownNameError, UserError


@dataclasses.dataclass(frozen=True, kw_only=True)
class BaselineConfig:
    """One leaderboard entry produced by this suite's learners.

    Attributes:
      name: entry name on the board (unique there).
      agent: registered algorithm ('bc', 'dqn', 'qrdqn', 'cql', 'cql_qrdqn').
      track: leaderboard track ('all', a domain, or one task 'domain/name').
      datasets: {task_id: dataset name} with one dataset per task of the track.
      steps: updates per member.
      seeds: one ensemble member (and one submitted run) per seed.
      config: overrides of the agent's default config.
      description: shown on the board.
    """

    name: str
    agent: str
    track: str
    datasets: Mapping[str, str]
    steps: int
    seeds: tuple[int, ...] = (0, 1, 2)
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""
    authors: str = "rl_unplugged baselines"

    def __post_init__(self):
        from rl_unplugged import agents
        from rl_unplugged.leaderboard.validation import track_tasks

        agents.get_agent(self.agent)  # UnknownNameError listing valid algorithms.
        if not isinstance(self.datasets, Mapping) or not isinstance(self.config, Mapping):
            raise ConfigError(f"baseline {self.name!r}: datasets and config must be mappings")
        if (isinstance(self.steps, bool) or not isinstance(self.steps, int)
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds)):
            raise ConfigError(f"baseline {self.name!r}: steps and seeds must be integers")
        tasks = track_tasks(self.track)
        if not tasks:
            raise UnknownNameError(f"unknown track {self.track!r}")
        if set(self.datasets) != set(tasks):
            raise ConfigError(f"baseline {self.name!r}: datasets must cover exactly the tasks of "
                             f"track {self.track!r} ({', '.join(tasks)}); got "
                             f"{', '.join(sorted(self.datasets))}")
        for task_id, name in self.datasets.items():
            if registry.get_dataset(name).task.id != task_id:
                raise ConfigError(f"datasets.{task_id}: {name!r} is not a dataset of "
                                  f"{task_id!r}")
        if self.steps <= 0 or not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"baseline {self.name!r}: steps must be > 0 and seeds distinct "
                              f"and non-empty")
        try:  # The agent's own checks, now rather than after the datasets are built.
            agents.make_config(self.agent, **self.config)
        except ValueError as e:
            if isinstance(e, UserError):
                raise
            raise ConfigError(f"baseline {self.name!r}: config: {e}") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> BaselineConfig:
        """Reads a baseline config file.

        Raises:
          CorruptDataError: the file is not a JSON object (names it).
          UnknownNameError: unknown keys (names the file and the valid keys).
          ConfigError: invalid values (names the field).
        """
        try:
            raw = json.loads(Path(path).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptDataError(f"{path}: not JSON ({str(e)[:100]})") from None
        if not isinstance(raw, dict):
            raise CorruptDataError(f"{path}: not a JSON object")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - fields
        if unknown:
            raise UnknownNameError(f"{path}: unknown baseline config keys {sorted(unknown)}; "
                                   f"valid: {sorted(fields)}")
        missing = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING} - set(raw)
        if missing:
            raise ConfigError(f"{path}: missing baseline config keys {sorted(missing)}")
        seeds = raw.get("seeds", (0, 1, 2))
        if not isinstance(seeds, list | tuple):
            raise ConfigError(f"{path}: seeds must be a list of integers")
        raw["seeds"] = tuple(seeds)
        try:
            return cls(**raw)
        except UserError as e:  # Name the file too.
            raise type(e)(f"{path}: {e}") from None


def independent_members(members: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """(member, seed) of ensemble members that are independent runs of one config.

    Members of one seed share its initialisation and minibatch stream (right for
    paired comparisons across a grid), so only distinct-seed members of one grid point
    may become one entry's runs.

    Args:
      members: a run's `training.list_members(run_dir)`: [{member, seed, grid}, ...].

    Raises:
      ConfigError: the members span several grid points or repeat a seed.
    """
    from rl_unplugged.errors import ConfigError

    points = {json.dumps(m.get("grid") or {}, sort_keys=True) for m in members}
    if len(points) > 1:
        raise ConfigError(f"one entry's runs must share one grid point; got {len(points)} "
                          f"({', '.join(sorted(points))[:120]})")
    seeds = [int(m["seed"]) for m in members]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"one entry's runs need distinct seeds; got {seeds}: members of "
                          "one seed are paired, not independent runs")
    return [(int(m["member"]), int(m["seed"])) for m in members]


TASK_DONE = "baseline_task.json"  # In a task's run directory once its records are saved.
_RECORD_NAME = re.compile(r"-seed(\d+)\.json$")


def record_path(out: Path, task_id: str, seed: int) -> Path:
    """Where `run` keeps a task's evaluation record of one seed."""
    return out / "results" / f"{task_id.replace('/', '-')}-seed{seed}.json"


def record_seed(path: str | os.PathLike) -> int:
    """The training seed in a record's file name (`record_path`'s `<task>-seed<k>.json`).

    Raises:
      ConfigError: the name does not end in `-seed<k>.json`.
    """
    match = _RECORD_NAME.search(Path(path).name)
    if match is None:
        raise ConfigError(f"{path}: not named <task>-seed<N>.json, so its seed is unknown")
    return int(match[1])


def _task_identity(cfg: BaselineConfig, task_id: str) -> dict[str, Any]:
    """What a task's saved returns are a function of: reused only when all of it matches.

    The protocol enters by its `settings_hash`, not its `hash`: a change of references
    alone leaves the returns valid (`_finished_task` re-scores the records)."""
    from rl_unplugged.evaluation import protocols

    protocol = protocols.get_protocol(task_id)
    return {"agent": cfg.agent, "steps": cfg.steps, "seeds": list(cfg.seeds),
            "config": json.loads(json.dumps(dict(cfg.config))), "task": task_id,
            "dataset": cfg.datasets[task_id], "protocol_settings_hash": protocol.settings_hash}


def _finished_task(out: Path, cfg: BaselineConfig, task_id: str
                   ) -> list[tuple[int, dict[str, Any]]] | None:
    """(seed, record) of a task already run with this identity (its done file matches and
    every seed's record loads), else None. Records evaluated before the task's references
    changed are re-scored (`evaluator.rescore`) and saved so."""
    from rl_unplugged.evaluation import evaluator

    stem = task_id.replace("/", "-")
    done = out / stem / TASK_DONE
    if not done.exists():
        return None
    try:
        if json.loads(done.read_text()) != _task_identity(cfg, task_id):
            return None
        found = []
        for seed in cfg.seeds:
            path = record_path(out, task_id, seed)
            record = evaluator.load_result(path)
            current = evaluator.rescore(record)
            if current != record:
                evaluator.save_result(current, path)
            found.append((seed, current))
        return found
    except (json.JSONDecodeError, UserError):
        return None


def _short(digest: str | None) -> str | None:
    """A build's manifest sha256 as records name it (16 hex digits, as the cards do)."""
    return None if digest is None else digest[:16]


def _check_build(done: Sequence[tuple[int, Mapping[str, Any]]], dataset: str,
                 data_dir: str | os.PathLike | None, run_dir: Path) -> None:
    """Refuses to reuse a finished task's records when the local build of its dataset is
    not the one they name (a rebuild is other data under the same name); records that
    name no build, or no local raw log, are not compared.

    Raises:
      ConfigError: names both builds and the run directory to remove.
    """
    from rl_unplugged.data import reference_builds

    local = _short(reference_builds.local_digest(dataset, data_dir))
    named = {(r.get("datasets") or {}).get(dataset) for _, r in done} - {None}
    if local is not None and named and named != {local}:
        raise ConfigError(f"{run_dir}: its records trained on {dataset} build "
                          f"{', '.join(sorted(named))}, but the local build is {local}; "
                          "remove the run directory to train on the local build")


ADOPTED = "adopted.json"  # Beside TASK_DONE in an adopted task: where each record came from.


def adopt(cfg: BaselineConfig, out_dir: str | os.PathLike, task_id: str,
          records: Mapping[int, str | os.PathLike], *, source: str) -> Path:
    """Takes one task's evaluation records, trained elsewhere, as `run`'s records of it.

    For this config's training done outside `out_dir`: on another machine whose run
    directories were not kept, or the missing seeds of an interrupted run trained
    separately (a seed's initialisation and minibatch stream are functions of the seed
    alone, `training.ensemble.member_keys`, so its record does not depend on which other
    seeds shared its ensemble, up to the last float bits). A later `run` reuses the task
    and can assemble the submission.

    Checked: every record loads (`evaluator.load_result`); it is of `task_id` under the
    task's current protocol (same hash: `rescore` a record whose references changed);
    its selection is the final checkpoint, as `run` evaluates; its only dataset is the
    config's for the task; the seeds are exactly the config's. What a record cannot
    show (agent, steps, settings) is the caller's claim: `source` says where they were
    trained and is kept in `ADOPTED` with each record's original path and sha256.

    Returns:
      The task's run directory (holding `TASK_DONE` and `ADOPTED`).

    Raises:
      ConfigError: the task is not in the track, or a record or the seed set fails a check
        (the message names the file).
    """
    import hashlib

    from rl_unplugged.evaluation import evaluator, protocols

    if task_id not in cfg.datasets:
        raise ConfigError(f"baseline {cfg.name!r}: task {task_id!r} is not in track "
                          f"{cfg.track!r} ({', '.join(sorted(cfg.datasets))})")
    if sorted(records) != sorted(cfg.seeds):
        raise ConfigError(f"baseline {cfg.name!r}, {task_id}: records for seeds "
                          f"{sorted(records)}, the config's seeds are {sorted(cfg.seeds)}")
    if not source.strip():
        raise ConfigError("adopt: say where the records were trained (source)")
    protocol, dataset = protocols.get_protocol(task_id), cfg.datasets[task_id]
    loaded = {}
    for seed, path in sorted(records.items()):
        record = evaluator.load_result(path)
        stamp = record.get("protocol") if isinstance(record.get("protocol"), Mapping) else {}
        problems = [
            f"task {record.get('task')!r}, not {task_id!r}" if record.get("task") != task_id
            else None,
            f"protocol hash {str(stamp.get('hash'))[:12]}, not the current "
            f"{protocol.hash[:12]} (rescore it first if only references changed)"
            if stamp.get("hash") != protocol.hash else None,
            f"selection {record.get('selection')}, not the final checkpoint"
            if (record.get("selection") or {}).get("method") != "final" else None,
            f"datasets {sorted(record.get('datasets') or {})}, not [{dataset!r}]"
            if sorted(record.get("datasets") or {}) != [dataset] else None]
        problems = [p for p in problems if p]
        if problems:
            raise ConfigError(f"{path}: cannot be adopted as seed {seed} of {task_id}: "
                              + "; ".join(problems))
        loaded[seed] = (record, hashlib.sha256(Path(path).read_bytes()).hexdigest())
    out = Path(out_dir)
    stem = task_id.replace("/", "-")
    for seed, (record, _) in loaded.items():
        evaluator.save_result(record, record_path(out, task_id, seed))
    fileio.write_json(out / stem / ADOPTED, {
        "source": source, "records": {str(seed): {"from": str(records[seed]), "sha256": digest}
                                      for seed, (_, digest) in loaded.items()}})
    # Last, after every record (as in `run`).
    return fileio.write_json(out / stem / TASK_DONE, _task_identity(cfg, task_id)).parent


def run(cfg: BaselineConfig, out_dir: str | os.PathLike, *,
        data_dir: str | os.PathLike | None = None, progress: bool = False,
        log: Callable[[str], None] = lambda _: None,
        tasks: Sequence[str] | None = None) -> dict[str, Any] | None:
    """Trains, evaluates and returns the validated submission (also written to out_dir).

    Writes `out_dir/<task>/` run directories, `out_dir/results/*.json` evaluation
    records and `out_dir/submission.json`. Datasets are generated if missing. Each
    record names the build it trained on (`datasets`: {name: its raw log's manifest
    sha256, 16 hex digits}, where a raw log is here), and the submission `NAME:BUILD`.

    Resumable by task: a task whose run directory holds `TASK_DONE` with the same
    identity (agent, steps, seeds, config, dataset, protocol settings hash) and whose
    records all load is not trained or evaluated again; its records are reused (re-scored
    first if only the task's references changed). With `tasks`, only
    those tasks are run (others are reused if done): separate processes or machines can
    share a track's tasks over one out_dir, and a last call without `tasks` assembles
    the submission from their records.

    Returns:
      The submission, or None when tasks of the track are still pending (logged).

    Raises:
      ConfigError: `tasks` names a task outside the config's track, or a finished
        task's records name another build of its dataset than the local one.
    """
    from rl_unplugged import generation, training
    from rl_unplugged.data import loader, reference_builds
    from rl_unplugged.evaluation import evaluator, protocols
    from rl_unplugged.leaderboard import board, validation

    selected = set(cfg.datasets) if tasks is None else set(tasks)
    unknown = selected - set(cfg.datasets)
    if unknown:
        raise ConfigError(f"baseline {cfg.name!r}: tasks {sorted(unknown)} are not in track "
                          f"{cfg.track!r} ({', '.join(sorted(cfg.datasets))})")
    out = Path(out_dir)
    (out / "results").mkdir(parents=True, exist_ok=True)
    records, seeds, pending = [], [], []
    for task_id, dataset in sorted(cfg.datasets.items()):
        run_dir = out / task_id.replace("/", "-")
        done = _finished_task(out, cfg, task_id)
        if done is not None:
            _check_build(done, dataset, data_dir, run_dir)
            log(f"[{cfg.name}] {task_id}: reusing its {len(done)} records ({run_dir / TASK_DONE})")
            seeds += [seed for seed, _ in done]
            records += [record for _, record in done]
            continue
        if task_id not in selected:
            pending.append(task_id)
            continue
        spec = registry.get_dataset(dataset)
        log(f"[{cfg.name}] {task_id}: dataset {dataset}")
        data = loader.load_transitions(spec, data_dir, build=True, generate=generation.generate)
        build = _short(reference_builds.local_digest(spec.name, data_dir))
        log(f"[{cfg.name}] {task_id}: training {cfg.agent} x{len(cfg.seeds)} seeds, "
            f"{cfg.steps} updates on {data.size:,} transitions")
        training.train(cfg.agent, data, spec.task, steps=cfg.steps, config=dict(cfg.config),
                       seeds=cfg.seeds, out_dir=run_dir, dataset=dataset, progress=progress)
        protocol = protocols.get_protocol(task_id)
        for member, seed in independent_members(training.list_members(run_dir)):
            # Checked against the protocol (task, allowed datasets) before it loads.
            # A RunPolicy: the record names its training run (seed, grid, checkpoint step).
            policy = evaluator.load_run_policy(run_dir, member=member, protocol=protocol)
            record = evaluator.evaluate(policy, protocol, selection="final",
                                        datasets={dataset: build},
                                        policy_source=f"{run_dir.name} member {member}")
            evaluator.save_result(record, record_path(out, task_id, seed))
            records.append(record)
            seeds.append(seed)
            log(f"[{cfg.name}] {task_id}: seed {seed} mean return {record['mean_return']:.3f}")
        # Last, after every record: an interrupted task is never taken for done.
        fileio.write_json(run_dir / TASK_DONE, _task_identity(cfg, task_id))
    if pending:
        log(f"[{cfg.name}] no submission yet: {len(pending)} task(s) pending "
            f"({', '.join(pending)}); run them (tasks=...), then run without tasks")
        return None
    submission = board.submission_from_results(
        records, track=cfg.track, name=cfg.name, run_seeds=seeds, authors=cfg.authors,
        description=cfg.description, datasets=board.result_datasets(records))
    validation.validate(submission)
    fileio.write_text(out / "submission.json", board.dumps(submission))
    return submission


def narrow_data_study(dataset: str, *, fraction: float, learners: Mapping[str, tuple[str, dict]],
                      steps: int, seeds: tuple[int, ...], out_dir: str | os.PathLike,
                      data_dir: str | os.PathLike | None = None, subsample_seed: int = 0,
                      log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Trains learners on a uniform subsample of a dataset and evaluates them.

    The CQL paper's narrow-data check (Kumar et al. 2020, Table 3: CQL 3.9 vs QR-DQN
    -20.5 on Pong with 1% of the replay): fewer, narrower transitions make plain
    TD learners overestimate unseen actions, which the CQL penalty counters.

    Args:
      dataset: registered dataset name (built if missing).
      fraction: share of its transitions kept, sampled uniformly without replacement.
      learners: {label: (agent, config overrides)}.
      steps, seeds: updates per member and one member per seed.

    Returns:
      {dataset, build, fraction, num_transitions, steps, seeds, protocol hash, results:
      {label: {agent, config, per_seed_mean_return, mean, std}}}; each member is
      evaluated with the task's frozen protocol (final checkpoint). `build` names the
      bytes trained on (a rebuilt learning run is another dataset under the same name):
      the raw log's manifest sha256 and whether it is the recorded build, or None for
      data without a raw log here.
    """
    import numpy as np

    from rl_unplugged import generation, training
    from rl_unplugged.data import loader, reference_builds
    from rl_unplugged.evaluation import evaluator, protocols

    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    spec = registry.get_dataset(dataset)
    data = loader.load_transitions(spec, data_dir, build=True, generate=generation.generate)
    rng = np.random.default_rng(subsample_seed)
    keep = np.sort(rng.choice(data.size, size=max(1, int(round(fraction * data.size))),
                              replace=False))
    narrow = data.subset(keep)
    protocol = protocols.get_protocol(spec.task.id)
    digest = reference_builds.local_digest(spec.name, data_dir)
    build = None if digest is None else {
        "manifest_sha256": digest, "note": reference_builds.build_status(spec.name, digest)}
    results = {}
    for label, (agent, config) in learners.items():
        log(f"[narrow] {label}: {agent} {config} on {narrow.size:,} transitions")
        run_dir = Path(out_dir) / label
        training.train(agent, narrow, spec.task, steps=steps, config=dict(config), seeds=seeds,
                       out_dir=run_dir, dataset=spec.name, probe_every=None)
        means = [evaluator.evaluate(
                     evaluator.load_run_policy(run_dir, member=m, protocol=protocol).policy,
                     protocol, datasets={spec.name: _short(digest)})["mean_return"]
                 for m in range(len(seeds))]
        results[label] = {"agent": agent, "config": dict(config),
                          "per_seed_mean_return": means, "mean": float(np.mean(means)),
                          "std": float(np.std(means))}
        log(f"[narrow] {label}: mean return {np.mean(means):.2f} +- {np.std(means):.2f}")
    return {"dataset": spec.name, "build": build, "fraction": fraction,
            "num_transitions": int(narrow.size),
            "subsample_seed": subsample_seed, "steps": steps, "seeds": list(seeds),
            "protocol": {"task": protocol.task_id, "hash": protocol.hash,
                         "num_episodes": protocol.num_episodes},
            "results": results}


# The medium-replay sanity check's learners: the continuous offline baselines against BC,
# each at its registered defaults (`agents/<name>/config.py`), and IQL with the paper's
# locomotion reward scaling (`iql_scaled`; off in IQL's defaults).
SANITY_LEARNERS: dict[str, tuple[str, dict]] = {
    "bc": ("bc_gaussian", {}), "td3_bc": ("td3_bc", {}), "iql": ("iql", {}),
    "iql_scaled": ("iql", {"normalize_rewards": True}), "cql": ("cql_sac", {})}


def sanity_check(dataset: str, *, steps: int, seeds: tuple[int, ...],
                 out_dir: str | os.PathLike, learners: Mapping[str, tuple[str, dict]] | None = None,
                 data_dir: str | os.PathLike | None = None, reps: int = 2_000,
                 log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Do the value-based offline learners beat BC on a mixed-quality dataset (issue 10)?

    D4RL's medium-replay datasets are where TD3+BC, IQL and CQL clearly beat BC (Fu et
    al. 2020; Fujimoto & Gu 2021, Table 1; Kostrikov et al. 2022, Table 1). Trains every
    learner of `learners` (default `SANITY_LEARNERS`, 'bc' the reference) on the whole
    dataset, one member per seed, evaluates every member's final checkpoint under the
    task's frozen protocol (`narrow_data_study` with fraction 1), and reports per learner
    rliable's probability of improvement P(learner > BC) with its 95% bootstrap CI over
    the per-seed mean returns, and whether its mean beat BC's: the table says which did
    not, never hides it.
    """
    import numpy as np

    from rl_unplugged.leaderboard import aggregate

    learners = dict(SANITY_LEARNERS if learners is None else learners)
    if "bc" not in learners:
        raise ConfigError("the sanity check compares with BC: learners need a 'bc' entry")
    study = narrow_data_study(dataset, fraction=1.0, learners=learners, steps=steps,
                              seeds=seeds, out_dir=out_dir, data_dir=data_dir, log=log)
    results = study["results"]
    raw = {k: np.asarray(v["per_seed_mean_return"])[:, None] for k, v in results.items()}
    rng = np.random.default_rng(0)
    verdicts = {}
    for label in learners:
        if label == "bc":
            continue
        p = aggregate.probability_of_improvement({label: raw[label], "bc": raw["bc"]},
                                                 rng=rng, reps=reps)[(label, "bc")]
        verdicts[label] = {"p_over_bc": [float(x) for x in p],
                           "mean_beats_bc": bool(results[label]["mean"] > results["bc"]["mean"]),
                           "ci_above_half": bool(p[1] > 0.5)}
        log(f"[sanity] {label}: mean {results[label]['mean']:.1f} vs BC "
            f"{results['bc']['mean']:.1f}; P(> BC) = {p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]")
    return {"question": "on a medium-replay dataset, do TD3+BC, IQL and CQL each beat BC?",
            **study, "verdicts": verdicts}


def science_check(datasets: Sequence[str], fractions: Sequence[float], *, alpha: float,
                  steps: int, seeds: tuple[int, ...], out_dir: str | os.PathLike,
                  hidden: Sequence[int] = (64, 64), data_dir: str | os.PathLike | None = None,
                  reps: int = 2_000, log: Callable[[str], None] = lambda _: None
                  ) -> dict[str, Any]:
    """CQL vs DQN on narrow data, over several tasks and subsample sizes (issue 8).

    Runs `narrow_data_study` for every (dataset, fraction) with DQN and CQL(alpha), one
    member per seed, and reports rliable's probability of improvement P(CQL > DQN) with
    a 95% stratified-bootstrap CI: per cell (raw per-seed mean returns), and per
    fraction over all tasks (normalised scores under each task's frozen protocol,
    tasks as strata). Results are recorded as they fall.
    """
    import numpy as np

    from rl_unplugged.evaluation import protocols
    from rl_unplugged.evaluation.normalisation import normalise
    from rl_unplugged.leaderboard import aggregate

    learners = {"dqn": ("dqn", {"hidden": list(hidden)}),
                "cql": ("cql", {"hidden": list(hidden), "alpha": alpha})}
    rng = np.random.default_rng(0)
    cells, pooled = [], {f: {"dqn": [], "cql": []} for f in fractions}
    for fraction in fractions:
        for dataset in datasets:
            study = narrow_data_study(
                dataset, fraction=fraction, learners=learners, steps=steps, seeds=seeds,
                out_dir=Path(out_dir) / f"{dataset.replace('/', '-')}-{fraction:g}",
                data_dir=data_dir, log=log)
            raw = {k: np.asarray(study["results"][k]["per_seed_mean_return"])[:, None]
                   for k in learners}
            p = aggregate.probability_of_improvement(raw, rng=rng, reps=reps)[("cql", "dqn")]
            protocol = protocols.get_protocol(study["protocol"]["task"])
            for k in learners:
                pooled[fraction][k].append(normalise(raw[k][:, 0], protocol))
            cells.append({**study, "p_cql_over_dqn": list(p)})
            log(f"[science] {dataset} {fraction:g}: P(CQL > DQN) = {p[0]:.2f} "
                f"[{p[1]:.2f}, {p[2]:.2f}]")
    overall = {}
    for fraction, scores in pooled.items():
        matrix = {k: np.stack(v, axis=1) for k, v in scores.items()}  # (seeds, tasks)
        p = aggregate.probability_of_improvement(matrix, rng=rng, reps=reps)[("cql", "dqn")]
        overall[f"{fraction:g}"] = {"p_cql_over_dqn": list(p), "tasks": len(datasets),
                                    "seeds": len(seeds)}
    return {"question": "does CQL beat DQN when trained on a small uniform subsample of a "
                        "dataset (Kumar et al. 2020, Table 3)?",
            "alpha": alpha, "steps": steps, "seeds": list(seeds), "hidden": list(hidden),
            "datasets": list(datasets), "fractions": list(fractions),
            "overall": overall, "cells": cells}

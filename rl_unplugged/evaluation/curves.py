"""Learning curves: every (checkpoint, member) of learner runs, evaluated under a protocol.

A run directory (`rl_unplugged.training`) keeps a checkpoint every `checkpoint_every`
updates. `evaluate_runs` plays the task's protocol for each (run, checkpoint, member) and
keeps one results record per pair, the record `rlu evaluate --run-dir R --member M
--checkpoint C --dataset D` writes (D: the run's own dataset unless given):

  <out>/<label>/step<C>-member<M>.json     (label: the run directory's name)

A record already there is kept when it was evaluated under the protocol's settings from
the same checkpoint file (its digest), run directory, member and seed, so an interrupted
curve resumes; any other record there is refused, never overwritten or reused. (A
checkpoint written before checksums has no digest: its records are matched on the rest.)
`summarise` checks the records the same way and turns them into one curve record
(`curve.json`): per series and checkpoint, each seed's mean return, their mean and
standard deviation over seeds, and the normalised mean when the protocol has references.
A run trained over a grid gives one series per grid point: seeds are averaged, grid
points never are.

Runs compared in one curve must have been trained on the same data (the digest in each
run's config.json): a comparison across data is a comparison of the data.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rl_unplugged
from rl_unplugged import checkpointing, fileio
from rl_unplugged.errors import ConfigError, IncompatibleError, NotFoundError
from rl_unplugged.evaluation import evaluator, normalisation
from rl_unplugged.evaluation.protocols import Protocol
from rl_unplugged.training.policy import read_config

FORMAT = "rlu-learning-curve"
FORMAT_VERSION = 1
CURVE_FILE = "curve.json"
PLOT_FILE = "curve.png"

__all__ = ["CURVE_FILE", "PLOT_FILE", "evaluate_runs", "labels", "plan", "plot", "result_path",
           "summarise"]


def _config(run_dir: Path) -> dict[str, Any]:
    if not (run_dir / "config.json").exists():
        raise NotFoundError(f"{run_dir}: not a run directory (no config.json)")
    return read_config(run_dir)


def labels(run_dirs: Sequence[str | os.PathLike]) -> list[str]:
    """One label per run: its directory's name (stable, so a curve resumes whichever runs
    are given with it).

    Raises:
      ConfigError: two runs in directories of the same name.
    """
    out = [Path(r).resolve().name for r in run_dirs]
    twice = sorted({n for n in out if out.count(n) > 1})
    if twice:
        raise ConfigError(f"two runs in directories named {twice}: a curve labels runs by "
                          "their directory's name, so give them distinct names")
    return out


def plan(run_dir: str | os.PathLike, *, checkpoints: Sequence[int] | None = None,
         members: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """The (checkpoint, member) pairs of a run to evaluate, checkpoint-major.

    Args:
      checkpoints: steps to evaluate (default: every checkpoint of the run).
      members: ensemble members (default: all).

    Raises:
      NotFoundError: the run has no checkpoints, or lacks a requested one.
      ConfigError: a requested member is not in the run.
    """
    run_dir = Path(run_dir)
    have = checkpointing.list_checkpoints(run_dir)
    if not have:
        raise NotFoundError(f"{run_dir}: no checkpoints to evaluate")
    steps = list(have) if checkpoints is None else [int(c) for c in checkpoints]
    missing = sorted(set(steps) - set(have))
    if missing:
        raise NotFoundError(f"{run_dir}: no checkpoint at step(s) {missing} (it has {have})")
    if checkpoints is not None and not steps:
        raise ConfigError("no checkpoints asked for (an empty list)")
    n = len(_config(run_dir)["members"])
    chosen = list(range(n)) if members is None else [int(m) for m in members]
    if not chosen:
        raise ConfigError("no members asked for (an empty list)")
    bad = [m for m in chosen if not 0 <= m < n]
    if bad:
        raise ConfigError(f"{run_dir}: no member(s) {bad} (it has {n}: 0-{n - 1})")
    return [(c, m) for c in sorted(set(steps)) for m in sorted(set(chosen))]


def result_path(out_dir: str | os.PathLike, label: str, checkpoint: int, member: int) -> Path:
    """Where the record of (label, checkpoint, member) lives under `out_dir`."""
    return Path(out_dir) / label / f"step{checkpoint}-member{member}.json"


def _identity(run_dir: Path, config: Mapping[str, Any], checkpoint: int, member: int
              ) -> dict[str, Any]:
    """What a record of (run, checkpoint, member) must name in its `training_run`."""
    seeds = {m["member"]: m.get("seed") for m in config["members"]}
    return {"run_dir": str(run_dir.resolve()), "member": member, "checkpoint": checkpoint,
            "seed": seeds.get(member),
            "checkpoint_sha256": checkpointing.checkpoint_digest(run_dir, checkpoint)}


def _check_record(record: Mapping[str, Any], path: Path, want: Mapping[str, Any]) -> None:
    run = dict(record.get("training_run") or {})
    if isinstance(run.get("run_dir"), str):  # The same directory, however it was spelt.
        run["run_dir"] = str(Path(run["run_dir"]).resolve())
    got = {k: run.get(k) for k in want}
    if got != dict(want):
        raise ConfigError(f"{path}: a record of {got}, not of {dict(want)}; move it away or "
                          "give another --out")


def _kept(path: Path, protocol: Protocol, want: Mapping[str, Any]) -> dict[str, Any] | None:
    """The existing record at `path` if it is this pair's under `protocol`, else an error."""
    if not path.exists():
        return None
    record = evaluator.load_result(path, protocol)  # Other settings: ProtocolViolation.
    _check_record(record, path, want)
    return record


def evaluate_runs(run_dirs: Sequence[str | os.PathLike], protocol: Protocol,
                  out_dir: str | os.PathLike, *,
                  checkpoints: Sequence[int] | None = None,
                  members: Sequence[int] | None = None,
                  datasets: Mapping[str, str | None] | None = None, num_envs: int = 16,
                  evaluate_many: Callable[[list[dict[str, Any]], dict[str, str | None]],
                                          Iterable[dict[str, Any]]] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluates every (run, checkpoint, member) not yet evaluated; returns `summarise`'s record.

    Args:
      run_dirs: learner run directories, all trained on the same data and task.
      protocol: the task's protocol (each run is checked against it first).
      out_dir: where the records and curve.json go.
      checkpoints, members: as `plan` (default: all of each run); curve.json records them.
      datasets: the training datasets to record ({name: version}; default: each run's
        own dataset as its config.json names it). Checked against the protocol first.
      evaluate_many: evaluates candidates ({'run_dir', 'member', 'checkpoint'}) trained
        on `datasets` into records, in order (the Beam fan-out,
        `rl_unplugged.beam.evaluation`); default: one at a time in this process, as
        `rlu evaluate` does.
      progress: called with one line per record written.

    Raises:
      IncompatibleError: runs trained on different data, or a run on another task.
      ProtocolViolation: a dataset the protocol does not allow.
      ConfigError: a record already under out_dir that belongs to another run or pair.
    """
    dirs = [Path(r).resolve() for r in run_dirs]
    if not dirs:
        raise ConfigError("no run directories to evaluate")
    names = labels(dirs)
    _check_same_data(dirs)
    todo = []
    for run_dir, label in zip(dirs, names, strict=True):
        config = _config(run_dir)
        protocol.check_run(config["task"], config.get("dataset"), source=f"run {run_dir}")
        ds = dict(datasets) if datasets is not None else (
            {config["dataset"]: None} if config.get("dataset") else {})
        protocol.check_datasets(list(ds))  # Before any episode is played.
        for checkpoint, member in plan(run_dir, checkpoints=checkpoints, members=members):
            path = result_path(out_dir, label, checkpoint, member)
            want = _identity(run_dir, config, checkpoint, member)
            if _kept(path, protocol, want) is None:
                todo.append(({"run_dir": str(run_dir), "member": member,
                              "checkpoint": checkpoint}, ds, path, want))
    if evaluate_many is None:
        def evaluate_many(candidates, ds):  # In this process, lazily: each record is
            return (evaluator.evaluate(  # written before the next is evaluated.
                evaluator.load_run_policy(c["run_dir"], member=c["member"],
                                          checkpoint=c["checkpoint"], protocol=protocol),
                protocol, datasets=ds, num_envs=num_envs,
                policy_source=evaluator.run_policy_source(c["run_dir"], c["member"],
                                                          c["checkpoint"]))
                for c in candidates)
    by_data: dict[tuple, list] = {}
    for item in todo:  # One call per set of recorded datasets (normally one).
        by_data.setdefault(tuple(sorted(item[1].items())), []).append(item)
    for group in by_data.values():
        records = evaluate_many([c for c, _, _, _ in group], dict(group[0][1]))
        for (_, _, path, want), record in zip(group, records, strict=True):
            _check_record(record, path, want)  # Each record is its candidate's.
            _write(record, path, protocol, progress)
    curve = summarise(dirs, protocol, out_dir, checkpoints=checkpoints, members=members)
    fileio.write_json(Path(out_dir) / CURVE_FILE, curve)
    return curve


def _write(record: Mapping[str, Any], path: Path, protocol: Protocol,
           progress: Callable[[str], None] | None) -> None:
    evaluator.save_result(record, path, protocol)
    if progress is not None:
        progress(f"{path}: mean return {record['mean_return']:.1f}")


def _check_same_data(dirs: Sequence[Path]) -> dict[str, Any] | None:
    """The runs' common data digest (config.json's `data`); one run may lack it."""
    data = {str(d): _config(d).get("data") for d in dirs}
    if len(dirs) > 1:
        missing = [d for d, v in data.items() if not (v or {}).get("sha256")]
        if missing:
            raise IncompatibleError(f"run(s) {missing} record no data digest, so a curve "
                                    "cannot check that the runs it compares share their data")
        if len({v["sha256"] for v in data.values()}) > 1:
            listing = ", ".join(f"{d}: {v['sha256']}" for d, v in data.items())
            raise IncompatibleError(f"runs trained on different data ({listing}); a curve "
                                    "compares learners on the same data")
    return next(iter(data.values()))


def _series(label: str, grid: Mapping[str, Any]) -> str:
    """A run's line in the curve: its label, and its grid point if it has one (the
    members of one grid point are its seeds; grid points are not averaged together)."""
    return label if not grid else label + " " + ",".join(f"{k}={v}" for k, v in
                                                         sorted(grid.items()))


def summarise(run_dirs: Sequence[str | os.PathLike], protocol: Protocol,
              out_dir: str | os.PathLike, *, checkpoints: Sequence[int] | None = None,
              members: Sequence[int] | None = None) -> dict[str, Any]:
    """The curve record of runs whose records are all under `out_dir`.

    One series per run (by label), or per grid point of a run with a grid ('cql
    alpha=0.5'): its members are seeds. Per series and checkpoint: `per_seed` (member,
    seed, mean return), `mean` and `std` (population std over seeds, as the leaderboard's
    tables), `min`, `max`, and `normalised_mean` (None while the protocol lacks a
    reference).

    Raises:
      NotFoundError: a pair's record is missing (evaluate it first).
      ConfigError: a record of another run, checkpoint file, member or seed, or of other
        protocol settings, where a pair's record should be.
    """
    dirs = [Path(r).resolve() for r in run_dirs]
    try:
        normalisation.reference_values(protocol)
        normalised = True
    except normalisation.MissingReferenceError:
        normalised = False
    runs = {}
    for run_dir, label in zip(dirs, labels(dirs), strict=True):
        config = _config(run_dir)
        grids = {m["member"]: dict(m.get("grid") or {}) for m in config["members"]}
        points: dict[str, dict[int, list]] = {}  # Series (grid point) -> step -> seeds.
        for checkpoint, member in plan(run_dir, checkpoints=checkpoints, members=members):
            path = result_path(out_dir, label, checkpoint, member)
            want = _identity(run_dir, config, checkpoint, member)
            record = _kept(path, protocol, want)
            if record is None:
                raise NotFoundError(f"{path}: not evaluated yet")
            points.setdefault(_series(label, grids[member]), {}).setdefault(
                checkpoint, []).append({"member": member, "seed": want["seed"],
                                        "mean_return": record["mean_return"]})
        for name, steps in points.items():
            rows = {}
            for checkpoint, seeds in steps.items():
                values = np.array([s["mean_return"] for s in seeds], np.float64)
                rows[str(checkpoint)] = {
                    "per_seed": seeds, "mean": float(values.mean()),
                    "std": float(values.std()), "min": float(values.min()),
                    "max": float(values.max()),
                    "normalised_mean": float(normalisation.normalise(values.mean(), protocol))
                    if normalised else None}
            grid = grids[steps[next(iter(steps))][0]["member"]]
            runs[name] = {"run_dir": str(run_dir), "agent": config["agent"],
                          "config": {**config.get("config", {}), **grid}, "grid": grid,
                          "steps": config.get("steps"), "checkpoints": rows}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "task": protocol.task_id,
            "protocol": {"id": protocol.content["protocol"], "version": protocol.version,
                         "hash": protocol.hash, "settings_hash": protocol.settings_hash},
            "references": {k: (protocol.references.get(k) or {}).get("value")
                           for k in ("random", "expert")},
            "dataset": _config(dirs[0]).get("dataset"), "data": _check_same_data(dirs),
            "selected": {"checkpoints": None if checkpoints is None else list(checkpoints),
                         "members": None if members is None else list(members)},
            "runs": runs, "package_version": rl_unplugged.__version__,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def plot(curve: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Mean return (± std over seeds) against updates, one line per run; written to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, run in curve["runs"].items():
        steps = sorted(int(s) for s in run["checkpoints"])
        mean = np.array([run["checkpoints"][str(s)]["mean"] for s in steps])
        std = np.array([run["checkpoints"][str(s)]["std"] for s in steps])
        ax.plot(steps, mean, marker="o", label=label)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.2)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(
        lambda x, _: f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}"))
    ax.set_xlabel("updates")
    ax.set_ylabel("mean return (± std over seeds)")
    ax.set_title(curve["task"] + (f" ({curve['dataset']})" if curve.get("dataset") else ""),
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

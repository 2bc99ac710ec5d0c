"""Learning curves: every (checkpoint, member) of learner runs, evaluated under a protocol.

A run directory (`rl_unplugged.training`) keeps a checkpoint every `checkpoint_every`
updates. `evaluate_runs` plays the task's protocol for each (run, checkpoint, member) and
keeps one results record per pair, the same record `rlu evaluate --run-dir R --member M
--checkpoint C` writes:

  <out>/<label>/step<C>-member<M>.json

Records already there are kept when they were evaluated under the protocol's settings
for that same run, member, seed and checkpoint (an interrupted curve resumes); any other
record there is refused, never overwritten. `summarise` turns the records into one curve
record (`curve.json`): per run and checkpoint, each seed's mean return, their mean and
standard deviation over seeds, and the normalised mean when the protocol has references.
A run trained over a grid gives one series per grid point: seeds are averaged, grid
points never are.

Runs compared in one curve must have been trained on the same data (the digest in each
run's config.json): a comparison across data is a comparison of the data.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rl_unplugged
from rl_unplugged import checkpointing, fileio
from rl_unplugged.errors import ConfigError, IncompatibleError, NotFoundError
from rl_unplugged.evaluation import evaluator, normalisation
from rl_unplugged.evaluation.protocols import Protocol

FORMAT = "rlu-learning-curve"
FORMAT_VERSION = 1
CURVE_FILE = "curve.json"
PLOT_FILE = "curve.png"

__all__ = ["CURVE_FILE", "PLOT_FILE", "evaluate_runs", "labels", "plan", "plot", "result_path",
           "summarise"]


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.exists():
        raise NotFoundError(f"{run_dir}: not a run directory (no config.json)")
    return fileio.read_json(path, what="run config")


def labels(run_dirs: Sequence[str | os.PathLike]) -> list[str]:
    """One label per run: its agent's name, or agent-<directory name> where agents repeat.

    Raises:
      ConfigError: two runs would get the same label (the same directory given twice).
    """
    dirs = [Path(r) for r in run_dirs]
    agents = [_config(d)["agent"] for d in dirs]
    out = [a if agents.count(a) == 1 else f"{a}-{d.name}"
           for a, d in zip(agents, dirs, strict=True)]
    if len(set(out)) != len(out):
        raise ConfigError(f"runs with the same label {sorted(out)}: give each run once")
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
    n = len(_config(run_dir)["members"])
    chosen = list(range(n)) if members is None else [int(m) for m in members]
    bad = [m for m in chosen if not 0 <= m < n]
    if bad:
        raise ConfigError(f"{run_dir}: no member(s) {bad} (it has {n}: 0-{n - 1})")
    return [(c, m) for c in sorted(set(steps)) for m in sorted(set(chosen))]


def result_path(out_dir: str | os.PathLike, label: str, checkpoint: int, member: int) -> Path:
    """Where the record of (label, checkpoint, member) lives under `out_dir`."""
    return Path(out_dir) / label / f"step{checkpoint}-member{member}.json"


def _kept(path: Path, protocol: Protocol, run_dir: Path, checkpoint: int, member: int,
          seed: int | None) -> dict[str, Any] | None:
    """The existing record at `path` if it is this pair's under `protocol`, else an error."""
    if not path.exists():
        return None
    record = evaluator.load_result(path, protocol)  # Other settings: ProtocolViolation.
    run = dict(record.get("training_run") or {})
    if isinstance(run.get("run_dir"), str):  # The same directory, however it was spelt.
        run["run_dir"] = str(Path(run["run_dir"]).resolve())
    want = {"run_dir": str(run_dir.resolve()), "member": member, "checkpoint": checkpoint,
            "seed": seed}
    got = {k: run.get(k) for k in want}
    if got != want:
        raise ConfigError(f"{path}: a record of {got}, not of {want}; move it away or "
                          "give another --out")
    return record


def evaluate_runs(run_dirs: Sequence[str | os.PathLike], protocol: Protocol,
                  out_dir: str | os.PathLike, *,
                  checkpoints: Sequence[int] | None = None,
                  members: Sequence[int] | None = None,
                  datasets: Mapping[str, str | None] | None = None, num_envs: int = 16,
                  evaluate_many: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
                  | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluates every (run, checkpoint, member) not yet evaluated; returns `summarise`'s record.

    Args:
      run_dirs: learner run directories, all trained on the same data and task.
      protocol: the task's protocol (each run is checked against it first).
      out_dir: where the records and curve.json go.
      checkpoints, members: as `plan` (default: all of each run).
      datasets: the training datasets to record ({name: version}; default: each run's
        own dataset as its config.json names it).
      evaluate_many: evaluates a list of candidates ({'run_dir', 'member', 'checkpoint'})
        into records, in order (the Beam fan-out, `rl_unplugged.beam.evaluation`);
        default: one at a time in this process, as `rlu evaluate` does.
      progress: called with one line per record written.

    Raises:
      IncompatibleError: runs trained on different data, or a run on another task.
      ConfigError: a record already under out_dir that belongs to another run or pair.
    """
    dirs = [Path(r) for r in run_dirs]
    if not dirs:
        raise ConfigError("no run directories to evaluate")
    names = labels(dirs)
    _check_same_data(dirs)
    todo = []
    for run_dir, label in zip(dirs, names, strict=True):
        config = _config(run_dir)
        protocol.check_run(config["task"], config.get("dataset"), source=f"run {run_dir}")
        seeds = {m["member"]: m.get("seed") for m in config["members"]}
        ds = dict(datasets) if datasets is not None else (
            {config["dataset"]: None} if config.get("dataset") else {})
        for checkpoint, member in plan(run_dir, checkpoints=checkpoints, members=members):
            path = result_path(out_dir, label, checkpoint, member)
            if _kept(path, protocol, run_dir, checkpoint, member, seeds.get(member)) is None:
                todo.append(({"run_dir": str(run_dir), "member": member,
                              "checkpoint": checkpoint}, ds, path))
    if evaluate_many is not None and todo:
        by_data: dict[tuple, list] = {}
        for item in todo:  # One fan-out per set of recorded datasets (normally one).
            by_data.setdefault(tuple(sorted(item[1].items())), []).append(item)
        for group in by_data.values():
            records = evaluate_many([c for c, _, _ in group], dict(group[0][1]))
            for (_, _, path), record in zip(group, records, strict=True):
                _write(record, path, protocol, progress)
    else:
        for candidate, ds, path in todo:
            policy = evaluator.load_run_policy(candidate["run_dir"], member=candidate["member"],
                                               checkpoint=candidate["checkpoint"],
                                               protocol=protocol)
            record = evaluator.evaluate(
                policy, protocol, datasets=ds, num_envs=num_envs,
                policy_source=f"run_dir:{candidate['run_dir']} member={candidate['member']} "
                              f"checkpoint={candidate['checkpoint']}")
            _write(record, path, protocol, progress)
    curve = summarise(dirs, protocol, out_dir, checkpoints=checkpoints, members=members)
    fileio.write_json(Path(out_dir) / CURVE_FILE, curve)
    return curve


def _write(record: Mapping[str, Any], path: Path, protocol: Protocol,
           progress: Callable[[str], None] | None) -> None:
    evaluator.save_result(record, path, protocol)
    if progress is not None:
        progress(f"{path}: mean return {record['mean_return']:.1f}")


def _check_same_data(dirs: Sequence[Path]) -> dict[str, Any]:
    data = {str(d): _config(d).get("data") for d in dirs}
    digests = {str((v or {}).get("sha256")) for v in data.values()}
    if len(digests) > 1:
        listing = ", ".join(f"{d}: {(v or {}).get('sha256')}" for d, v in data.items())
        raise IncompatibleError(f"runs trained on different data ({listing}); a curve "
                                "compares learners on the same data")
    return next(iter(data.values())) or {}


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
    """
    dirs = [Path(r) for r in run_dirs]
    try:
        low, high = normalisation.reference_values(protocol)
    except normalisation.MissingReferenceError:
        low = high = None
    runs = {}
    for run_dir, label in zip(dirs, labels(dirs), strict=True):
        config = _config(run_dir)
        grids = {m["member"]: dict(m.get("grid") or {}) for m in config["members"]}
        points: dict[str, dict[int, list]] = {}  # Series (grid point) -> step -> seeds.
        for checkpoint, member in plan(run_dir, checkpoints=checkpoints, members=members):
            path = result_path(out_dir, label, checkpoint, member)
            if not path.exists():
                raise NotFoundError(f"{path}: not evaluated yet")
            record = evaluator.load_result(path, protocol)
            points.setdefault(_series(label, grids[member]), {}).setdefault(
                checkpoint, []).append({"member": member,
                                        "seed": record["training_run"].get("seed"),
                                        "mean_return": record["mean_return"]})
        for name, steps in points.items():
            rows = {}
            for checkpoint, seeds in steps.items():
                values = np.array([s["mean_return"] for s in seeds], np.float64)
                rows[str(checkpoint)] = {
                    "per_seed": seeds, "mean": float(values.mean()),
                    "std": float(values.std()), "min": float(values.min()),
                    "max": float(values.max()),
                    "normalised_mean": None if low is None
                    else float((values.mean() - low) / (high - low))}
            grid = grids[steps[next(iter(steps))][0]["member"]]
            runs[name] = {"run_dir": str(run_dir), "agent": config["agent"],
                          "config": {**config.get("config", {}), **grid}, "grid": grid,
                          "steps": config.get("steps"), "checkpoints": rows}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "task": protocol.task_id,
            "protocol": {"id": protocol.content["protocol"], "version": protocol.version,
                         "hash": protocol.hash, "settings_hash": protocol.settings_hash},
            "references": {"random": low, "expert": high},
            "dataset": _config(dirs[0]).get("dataset"), "data": _check_same_data(dirs),
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
    ax.set_title(f"{curve['task']} ({curve['dataset']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

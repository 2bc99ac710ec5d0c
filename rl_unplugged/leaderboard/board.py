"""The leaderboard: submit validated files, build the rendered board.

Layout under a board root (the repository's `evaluation/` folder by default):
  submissions/*.json   one validated submission per file (`submit` adds them), scored
                       under the current protocols
  submissions/v{N}/*.json  entries scored under retired protocol version N
                       (`protocols.RETIRED_VERSIONS`): validated against that version's
                       frozen protocols and shown in their own section, never in a track
  LEADERBOARD.md       generated
  leaderboard.html     generated, self-contained, sortable
  plots/*.png          aggregate bars with CIs and performance profiles per track
  schemas/submission-v1.json   copy of the published schema for readers
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rl_unplugged import fileio, registry
from rl_unplugged.errors import ConfigError, IncompatibleError
from rl_unplugged.evaluation import evaluator
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.evaluation.normalisation import MissingReferenceError, normalise
from rl_unplugged.evaluation.protocols import Protocol
from rl_unplugged.leaderboard import aggregate, render
from rl_unplugged.leaderboard.submission_schema import SCHEMA_FILE, TRACKS, schema_text
from rl_unplugged.leaderboard.validation import (
    SubmissionError,
    track_tasks,
    validate_bytes,
    validate_file,
)

SUBMISSIONS = "submissions"
TAUS = np.linspace(0.0, 1.5, 31)  # Performance-profile thresholds on normalised scores.


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40]
    return slug or "entry"


def _load_folder(folder: Path, protocols: Mapping[str, Protocol] | None, note: str = ""
                 ) -> list[tuple[Path, dict]]:
    names: list[str] = []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            sub = validate_file(path, protocols=protocols, existing_names=names)
        except SubmissionError as e:  # A ConfigError (ValueError) naming file and field.
            raise SubmissionError(str(path), f"{e}{note}") from None
        names.append(sub["name"])
        out.append((path, sub))
    return out


def load_submissions(root: str | Path, protocols: Mapping[str, Protocol] | None = None
                     ) -> list[tuple[Path, dict]]:
    """Validates every `root/submissions/*.json` (sorted by file name) against the
    current protocols (retired entries under `submissions/v{N}/` are not read).

    Raises:
      SubmissionError: a file is invalid (message names the file and the field; a file
        scored under a retired protocol is named as such), or two entries share a name.
    """
    return _load_folder(Path(root) / SUBMISSIONS, protocols)


def retired_folder(root: str | Path, version: int) -> Path:
    """Where a board keeps the entries scored under retired protocol `version`."""
    return Path(root) / SUBMISSIONS / f"v{version}"


def load_retired_submissions(root: str | Path, version: int,
                             protocols: Mapping[str, Protocol] | None = None
                             ) -> list[tuple[Path, dict]]:
    """Validates every `root/submissions/v{version}/*.json` against the frozen protocols
    of retired `version` (default `protocols.retired_protocols(version)`).

    Raises:
      UnknownNameError: `version` is not a retired version.
      SubmissionError: a file is invalid (names the file, the field and the version).
    """
    if protocols is None:
        protocols = protocols_lib.retired_protocols(version)
    return _load_folder(retired_folder(root, version), protocols,
                        note=f" (files under submissions/v{version}/ are checked against the "
                             f"retired v{version} protocols)")


def submit(path: str | Path, root: str | Path,
           protocols: Mapping[str, Protocol] | None = None) -> Path:
    """Validates a submission against the board at `root` and copies it in.

    Only submissions under the current protocols are accepted; entries of a retired
    version stay where they are (`submissions/v{N}/`), and a new file scored under a
    retired protocol is refused, naming the version and the migration doc.

    Returns:
      The path of the stored file, `root/submissions/<slug>-<sha8>.json`.

    Raises:
      SubmissionError: invalid file (including a name already on the board, or a
        protocol hash of a retired version).
      FileExistsError: the same file is already submitted.
    """
    existing = [s["name"] for _, s in load_submissions(root, protocols)]
    sub = validate_file(path, protocols=protocols, existing_names=existing)
    data = Path(path).read_bytes()
    validate_bytes(data, protocols=protocols, existing_names=existing)  # Same bytes we store.
    dest_dir = Path(root) / SUBMISSIONS
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{_slug(sub['name'])}-{hashlib.sha256(data).hexdigest()[:8]}.json"
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")
    fileio.write_bytes(dest, data)
    return dest


# A normalised task score above this flags the task's expert reference: an entry that
# beats the "expert" by more than 20% means the reference is weak, not the entry superb.
FLAG_ABOVE = 1.2


def reference_flag(task_id: str, normalised_mean: float | None, mean_return: float,
                   protocol: Protocol) -> str:
    """Why an entry's normalised task score exceeds `FLAG_ABOVE` ('' when it does not).

    Names the expert reference (value and how it was measured), the environment's
    known maximum where there is one (`Protocol.max_return`); the renderers link the
    task's protocol doc.
    """
    if normalised_mean is None or not normalised_mean > FLAG_ABOVE:
        return ""
    expert = protocol.references.get("expert", {})
    best = protocol.max_return
    ceiling = "" if best is None else f"; the environment's maximum is {best:g}"
    return (f"normalised {normalised_mean:.3g} > {FLAG_ABOVE:g}: mean return "
            f"{mean_return:.4g} against an expert reference of {expert.get('value', 0):.4g} "
            f"({expert.get('how', 'how not recorded')}){ceiling}: the reference, not the "
            "entry, is suspect")


def _entry_summary(anchor: str, file: str, sub: dict,
                   protocols: Mapping[str, Protocol]) -> dict[str, Any]:
    tasks = {}
    for task_id, res in sub["results"].items():
        means = np.array([np.mean(np.asarray(r["returns"], np.float64)) for r in res["runs"]])
        try:
            norm = float(np.mean(normalise(means, protocols[task_id])))
        except MissingReferenceError:
            norm = None
        tasks[task_id] = {"protocol_version": res["protocol_version"],
                          "protocol_hash": res["protocol_hash"], "runs": len(res["runs"]),
                          "mean_return": float(means.mean()), "std_return": float(means.std()),
                          "normalised_mean": norm,
                          "flag": reference_flag(task_id, norm, float(means.mean()),
                                                 protocols[task_id])}
    return {**{k: sub.get(k, "") for k in ("name", "authors", "description", "url", "date",
                                           "package_version", "track", "selection", "results")},
            "file": file, "anchor": anchor, "tasks": tasks,
            "num_runs": len(next(iter(sub["results"].values()))["runs"])}


def _retired_sections(root: Path, retired: Mapping[int, Mapping[str, Protocol]] | None
                      ) -> list[dict[str, Any]]:
    """One section per retired version with entries under `submissions/v{N}/`, newest
    first: each entry summarised (per-task returns, runs, normalised score and flags)
    under that version's own protocols and references."""
    versions = protocols_lib.RETIRED_VERSIONS if retired is None else tuple(retired)
    sections = []
    for version in sorted(versions, reverse=True):
        if not retired_folder(root, version).is_dir():
            continue
        protocols = (protocols_lib.retired_protocols(version) if retired is None
                     else retired[version])
        subs = load_retired_submissions(root, version, protocols)
        if not subs:
            continue
        entries = {sub["name"]: _entry_summary(f"retired-v{version}-entry-{i}",
                                               f"v{version}/{path.name}", sub, protocols)
                   for i, (path, sub) in enumerate(subs)}
        sections.append({
            "version": version, "why": protocols_lib.RETIRED_WHY.get(version, ""),
            "entries": entries,
            "migration": f"README.md#migration-from-v{version}-to-v"
                         f"{protocols_lib.PROTOCOL_VERSION}",
            # The frozen file, relative to the repository's board root `evaluation/`.
            "protocols_file": "../rl_unplugged/evaluation/data/"
                              f"{protocols_lib.retired_file(version)}"})
    return sections


def build_board(root: str | Path, *, protocols: Mapping[str, Protocol] | None = None,
                retired: Mapping[int, Mapping[str, Protocol]] | None = None,
                seed: int = 0, reps: int = aggregate.DEFAULT_REPS,
                plots: bool = True) -> dict[str, Any]:
    """Validates all submissions under `root` and writes the rendered board there.

    Per track (all, each domain, then each task), the entries covering all of the track's tasks
    are aggregated (IQM, median, mean, optimality gap with CIs, performance profiles,
    probability of improvement). A track whose protocols miss a normalisation
    reference gets no aggregates: it says which reference is pending.

    Entries of a retired protocol version (`submissions/v{N}/*.json`) are validated
    against that version's protocols and rendered in their own section ("Retired:
    protocol vN", with why it was retired); they never enter a track's aggregates.

    Args:
      protocols: the current protocols {task_id: Protocol} (default the frozen ones).
      retired: {version: {task_id: Protocol}} of the retired versions (default
        `protocols.retired_protocols` of each of `protocols.RETIRED_VERSIONS`).

    Returns:
      The board dict that was rendered (entries, tracks, estimates, retired sections).
    """
    root = Path(root)
    protocols = protocols_lib.all_protocols() if protocols is None else protocols
    subs = load_submissions(root, protocols)
    entries = {sub["name"]: _entry_summary(f"entry-{i}", path.name, sub, protocols)
               for i, (path, sub) in enumerate(subs)}
    retired_sections = _retired_sections(root, retired)
    rng = np.random.default_rng(seed)
    plot_dir = root / "plots"
    if plot_dir.exists():
        shutil.rmtree(plot_dir)
    tracks = []
    for track in TRACKS:
        tasks = track_tasks(track)
        names = [n for n, e in entries.items() if set(tasks) <= set(e["results"])]
        # A single-task track gets its own table only when an entry was made for it;
        # every entry's per-task breakdown is linked from its row anyway.
        if not names or (len(tasks) == 1 and track not in {e["track"] for e in entries.values()}):
            continue
        info = {"track": track, "title": registry.track_title(track), "tasks": tasks,
                "entries": names, "estimates": {},
                "improvement": {}, "plots": {}, "pending": ""}
        try:
            scores = {n: aggregate.score_matrix(entries[n]["results"], protocols, tasks)
                      for n in names}
        except MissingReferenceError as e:
            info["pending"] = str(e)
            tracks.append(info)
            continue
        info["estimates"] = aggregate.interval_estimates(scores, rng=rng, reps=reps)
        info["improvement"] = aggregate.probability_of_improvement(scores, rng=rng, reps=reps)
        profiles, cis = aggregate.performance_profiles(scores, TAUS, rng=rng, reps=reps)
        info["entries"] = sorted(names, key=lambda n: -info["estimates"][n]["IQM"][0])
        if plots:
            plot_dir.mkdir(parents=True, exist_ok=True)
            stem = track.replace("/", "-")  # Single-task tracks are 'domain/name'.
            render.plot_aggregates(info["estimates"], plot_dir / f"{stem}-aggregates.png")
            render.plot_profiles(profiles, cis, TAUS, plot_dir / f"{stem}-profiles.png")
            info["plots"] = {"aggregates": f"plots/{stem}-aggregates.png",
                             "profiles": f"plots/{stem}-profiles.png"}
        tracks.append(info)
    board = {"entries": entries, "tracks": tracks, "seed": seed, "reps": reps,
             "version": protocols_lib.PROTOCOL_VERSION, "retired": retired_sections}
    root.mkdir(parents=True, exist_ok=True)
    fileio.write_text(root / "LEADERBOARD.md", render.render_markdown(board))
    fileio.write_text(root / "leaderboard.html", render.render_html(board))
    fileio.write_text(root / "schemas" / SCHEMA_FILE, schema_text())
    return board


def submission_template(protocols: Mapping[str, Protocol], track: str, name: str,
                        runs: Mapping[str, list[list[float]]], *, authors: str = "anonymous",
                        description: str = "", selection: str = "final",
                        selection_name: str | None = None,
                        datasets: Mapping[str, list[str]] | None = None,
                        date: str | None = None) -> dict[str, Any]:
    """A submission dict from per-task per-run returns (for tools and tests).

    Args:
      runs: {task_id: [returns of run 0 (one per protocol seed), returns of run 1, ...]}.
      datasets: {task_id: dataset names}; default the task's first allowed dataset.
      date: YYYY-MM-DD; default today (UTC).
    """
    import datetime

    import rl_unplugged

    if date is None:
        date = datetime.datetime.now(datetime.UTC).date().isoformat()
    results = {}
    for task_id in track_tasks(track):
        p = protocols[task_id]
        results[task_id] = {
            "protocol_version": p.version, "protocol_hash": p.hash,
            "datasets": list((datasets or {}).get(task_id, p.datasets[:1])),
            "runs": [{"seed": k, "episode_seeds": p.episode_seeds, "returns": list(map(float, r))}
                     for k, r in enumerate(runs[task_id])]}
    sel = {"method": selection}
    if selection_name is not None:
        sel["name"] = selection_name
    return {"schema": "rl_unplugged-submission", "schema_version": 1, "name": name,
            "authors": authors, "description": description, "date": date,
            "package_version": rl_unplugged.__version__, "track": track, "selection": sel,
            "results": results}


def result_datasets(results: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """{task: ['NAME' or 'NAME:VERSION', ...]}: the training datasets evaluation records
    name. A version is what a record maps the name to: a build's manifest digest for
    `rlu baselines run`'s records, or what `rlu evaluate --dataset NAME:VERSION` was given.

    Raises:
      ConfigError: one task's records name one dataset with two versions, or with and
        without one (which bytes the task trained on would be unclear).
    """
    out: dict[str, set[str]] = {}
    for record in results:
        for dataset, version in (record.get("datasets") or {}).items():
            out.setdefault(record["task"], set()).add(f"{dataset}:{version}" if version
                                                      else dataset)
    for task, items in out.items():
        if len({i.split(":")[0] for i in items}) != len(items):
            raise ConfigError(f"{task}: the records name one dataset in more than one "
                              f"version ({', '.join(sorted(items))}); the task must be "
                              "trained on one")
    return {task: sorted(items) for task, items in out.items()}


def submission_from_results(results: list[Mapping[str, Any]], *, track: str, name: str,
                            run_seeds: Sequence[int] | None = None, **kwargs) -> dict[str, Any]:
    """A submission from evaluator results records (`evaluate`), grouped by task.

    Args:
      results: one record per training run, any task order.
      run_seeds: each result's training seed (the ensemble member's seed), in the order
        of `results`; they become the submission's run seeds. Members of one ensemble
        that share a seed (grid points) share their initialisation and minibatch
        stream: they are paired, not independent runs, so two results of one task
        with the same seed are refused. Default: runs numbered 0, 1, ... per task.
      **kwargs: passed to `submission_template` (authors, description, datasets, ...).

    Raises:
      ConfigError: `run_seeds` is not one int per result, or repeats a seed on a task.
    """
    protocols = protocols_lib.all_protocols()
    if run_seeds is not None:
        run_seeds = list(run_seeds)
        if len(run_seeds) != len(results) or not all(
                isinstance(s, int) and not isinstance(s, bool) for s in run_seeds):
            raise ConfigError(f"run_seeds must be one int per result ({len(results)}); got "
                              f"{str(run_seeds)[:80]}")
    runs: dict[str, list[list[float]]] = {}
    seeds: dict[str, list[int]] = {}
    selections = set()
    for i, r in enumerate(results):
        try:
            r = evaluator.check_result(r)  # Seeds, feasible returns: the protocol's rules.
        except protocols_lib.ProtocolViolation as e:
            raise protocols_lib.ProtocolViolation((i, *e.field), e.reason) from None
        p = protocols_lib.get_protocol(r["task"])
        if r["protocol"]["hash"] != p.hash:
            retired = protocols_lib.retired_protocol(r["protocol"]["hash"])
            if retired is not None:
                raise IncompatibleError(f"a {r['task']} result was evaluated under "
                                        f"{protocols_lib.retired_message(retired)}")
            raise IncompatibleError(f"a {r['task']} result was evaluated under protocol "
                             f"{r['protocol']['hash'][:12]}, not the current {p.hash[:12]}")
        if r["episode_seeds"] != p.episode_seeds:
            raise IncompatibleError(f"a {r['task']} result does not use the protocol's seeds")
        selections.add((r["selection"]["method"], r["selection"].get("name")))
        runs.setdefault(r["task"], []).append(list(r["returns"]))
        if run_seeds is not None:
            if run_seeds[i] in seeds.get(r["task"], []):
                raise ConfigError(
                    f"results of {r['task']} share training seed {run_seeds[i]}: members of "
                    "one seed (grid points) are paired, not independent runs; submit one "
                    "grid point with distinct seeds")
            seeds.setdefault(r["task"], []).append(run_seeds[i])
    if len(selections) != 1:
        raise IncompatibleError(f"results mix selection methods: {sorted(map(str, selections))}")
    method, sel_name = selections.pop()
    sub = submission_template(protocols, track, name, runs, selection=method,
                              selection_name=sel_name, **kwargs)
    for task_id, task_seeds in seeds.items():
        if task_id in sub["results"]:
            for run, seed in zip(sub["results"][task_id]["runs"], task_seeds, strict=True):
                run["seed"] = seed
    return sub


def dumps(submission: Mapping[str, Any]) -> str:
    return json.dumps(submission, indent=1, allow_nan=False) + "\n"

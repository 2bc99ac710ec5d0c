"""`rlu leaderboard validate|make-submission|submit|build`: the submission workflow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rl_unplugged.cli import common
from rl_unplugged.errors import ConfigError, IncompatibleError, NotFoundError


def _evaluation_result_format() -> str:
    from rl_unplugged.evaluation import evaluator

    return evaluator.RESULT_FORMAT


def _refuse_evaluation_result(path: str) -> None:
    """A results record of `rlu evaluate` is not a submission: say so, not a schema error."""
    try:
        doc = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return  # Unreadable or not JSON: the validator names the problem.
    if isinstance(doc, dict) and doc.get("format") == _evaluation_result_format():
        raise IncompatibleError(
            f"{path}: this is an evaluation result, not a submission; use `rlu leaderboard "
            f"make-submission RESULTS... --name NAME --track TRACK --out FILE` to make one")


def _validate(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board, validation

    _refuse_evaluation_result(args.file)
    existing = [] if args.root is None else [
        s["name"] for _, s in board.load_submissions(args.root)]
    sub = validation.validate_file(args.file, existing_names=existing)
    print(f"valid: {sub['name']!r}, track {sub['track']}, {len(sub['results'])} tasks")
    return 0


def _make_submission(args: argparse.Namespace) -> int:
    from rl_unplugged import fileio
    from rl_unplugged.evaluation import evaluator
    from rl_unplugged.leaderboard import board, validation

    results = []
    for path in args.results:
        if not Path(path).is_file():
            raise NotFoundError(f"{path}: no such results file")
        try:
            results.append(evaluator.load_result(path))
        except ValueError as e:  # Not JSON, or not a results record.
            raise ConfigError(f"{path}: not an evaluation result of `rlu evaluate` ({e})"
                              ) from None
    tasks = validation.track_tasks(args.track)
    if not tasks:
        raise ConfigError(f"--track {args.track}: unknown track; use 'all', a domain or a "
                          "task id")
    have = {r["task"] for r in results}
    if have - set(tasks):
        raise IncompatibleError(f"results for {', '.join(sorted(have - set(tasks)))} are not "
                                f"part of track {args.track!r}")
    if set(tasks) - have:
        raise IncompatibleError(f"track {args.track!r} needs results for every one of its "
                                f"tasks; missing {', '.join(sorted(set(tasks) - have))}")
    extra = common.given(args, "authors", "description", "date")
    with common.as_config_error("rlu leaderboard make-submission"):
        sub = board.submission_from_results(results, track=args.track, name=args.name,
                                            datasets=board.result_datasets(results),
                                            run_seeds=_run_seeds(results), **extra)
    validation.validate(sub)  # A SubmissionError names the field (e.g. too few runs).
    fileio.write_text(args.out, board.dumps(sub))
    runs = {task: len(res["runs"]) for task, res in sub["results"].items()}
    print(f"wrote {args.out}: {sub['name']!r}, track {sub['track']}, "
          f"{len(runs)} tasks, runs per task {sorted(set(runs.values()))}")
    return 0


def _run_seeds(results: list[dict]) -> list[int] | None:
    """Each result's training seed, when every result records one (`rlu evaluate
    --run-dir` does): grid members of one seed are then refused as separate runs."""
    seeds = [(r.get("training_run") or {}).get("seed") for r in results]
    if all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        return seeds
    return None


def _submit(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board

    _refuse_evaluation_result(args.file)
    dest = board.submit(args.file, args.root)
    print(f"submitted: {dest}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board

    root = Path(args.root)
    if not (root / board.SUBMISSIONS).is_dir():
        raise NotFoundError(f"{root / board.SUBMISSIONS}: no such directory; --root must be a "
                            "board root holding submissions/ (add entries with `rlu "
                            "leaderboard submit`)")
    built = board.build_board(root, **common.given(args, "seed", "reps"))
    print(f"built {root}/LEADERBOARD.md and leaderboard.html: "
          f"{len(built['entries'])} entries, {len(built['tracks'])} tracks")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="validate, make, submit and build leaderboard entries")
    lsub = p.add_subparsers(dest="leaderboard_command", required=True)
    q = lsub.add_parser("validate", help="validate a submission file")
    q.add_argument("file")
    q.add_argument("--root", default=None,
                   help="also check the name against this board's submissions")
    q.set_defaults(func=_validate)

    q = lsub.add_parser("make-submission",
                        help="make a submission from `rlu evaluate` results (one per run and "
                             "task)")
    q.add_argument("results", nargs="+", help="results JSON files written by `rlu evaluate`")
    q.add_argument("--name", required=True, help="entry name on the board")
    q.add_argument("--track", required=True,
                   help="'all', a domain (e.g. bsuite) or one task (e.g. bsuite/catch)")
    q.add_argument("--authors", default=None, help="authors (default: the library's)")
    q.add_argument("--description", default=None, help="shown on the board")
    q.add_argument("--date", default=None, help="YYYY-MM-DD (default: today, UTC)")
    q.add_argument("--out", required=True, help="submission JSON file to write")
    q.set_defaults(func=_make_submission)

    q = lsub.add_parser("submit", help="validate and add a submission to the board")
    q.add_argument("file")
    q.add_argument("--root", default=common.BOARD_ROOT,
                   help="board root (default ./%(default)s)")
    q.set_defaults(func=_submit)
    q = lsub.add_parser("build", help="write LEADERBOARD.md, leaderboard.html and plots")
    q.add_argument("--root", default=common.BOARD_ROOT,
                   help="board root holding submissions/ (default ./%(default)s)")
    q.add_argument("--seed", type=int, default=None, help="bootstrap seed (default: the "
                   "library's)")
    q.add_argument("--reps", type=int, default=None, help="bootstrap replications (default: "
                   "the library's)")
    q.set_defaults(func=_build)

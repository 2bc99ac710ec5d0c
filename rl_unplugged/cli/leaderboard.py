"""`rlu leaderboard validate|submit|build`: the submission workflow."""

from __future__ import annotations

import argparse


def _validate(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board, validation

    existing = [] if args.root is None else [
        s["name"] for _, s in board.load_submissions(args.root)]
    sub = validation.validate_file(args.file, existing_names=existing)
    print(f"valid: {sub['name']!r}, track {sub['track']}, {len(sub['results'])} tasks")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board

    dest = board.submit(args.file, args.root)
    print(f"submitted: {dest}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from rl_unplugged.leaderboard import board

    built = board.build_board(args.root, seed=args.seed, reps=args.reps)
    print(f"built {args.root}/LEADERBOARD.md and leaderboard.html: "
          f"{len(built['entries'])} entries, {len(built['tracks'])} tracks")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="validate, submit and build the leaderboard")
    lsub = p.add_subparsers(dest="leaderboard_command", required=True)
    q = lsub.add_parser("validate", help="validate a submission file")
    q.add_argument("file")
    q.add_argument("--root", default=None,
                   help="also check the name against this board's submissions")
    q.set_defaults(func=_validate)
    q = lsub.add_parser("submit", help="validate and add a submission to the board")
    q.add_argument("file")
    q.add_argument("--root", default="evaluation", help="board root (default ./evaluation)")
    q.set_defaults(func=_submit)
    q = lsub.add_parser("build", help="write LEADERBOARD.md, leaderboard.html and plots")
    q.add_argument("--root", default="evaluation", help="board root (default ./evaluation)")
    q.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    q.add_argument("--reps", type=int, default=2000, help="bootstrap replications")
    q.set_defaults(func=_build)

"""The `rlu` command: a thin layer over the public API.

Each command group lives in its own module exposing `register(subparsers)`; it adds
its parsers and sets `func(args) -> int` on each.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Command-group modules, in the order `rlu --help` lists them.
_GROUPS = ("datasets", "train", "evaluation", "leaderboard", "baselines", "quickstart")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _GROUPS:
        importlib.import_module(f"rl_unplugged.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (KeyError, ValueError, FileNotFoundError, OSError) as e:
        # Bad input: one clear line, no traceback.
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"rlu: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

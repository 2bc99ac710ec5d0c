"""The `rlu` command: a thin layer over the public API.

Each command group lives in its own module exposing `register(subparsers)`; it adds
its parsers and sets `func(args) -> int` on each. A parser that sets
`needs_tensorflow=True` gets TensorFlow imported quietly before its command runs.

Errors: a `rl_unplugged.errors.UserError` (bad input, data or environment) is printed
as one line `rlu: error: <message>` with exit status 2; any other exception is a bug
and keeps its traceback. Warnings (a store rebuilt from its source) are one line
`rlu: warning: <message>`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
import warnings

from rl_unplugged.errors import UserError

# Command-group modules, in the order `rlu --help` lists them.
_GROUPS = ("datasets", "train", "evaluation", "leaderboard", "baselines", "quickstart", "select")
_GROUPS += ("convert",)  # rlu convert: RL Unplugged originals into a store.

# User-facing exceptions raised by library code written before `UserError` existed, by
# module: only looked up when that module was imported (else nothing raised them).
_LEGACY_USER_ERRORS = {
    "rl_unplugged.data.raw_log": ("CorruptLogError", "LogLockedError"),
    "rl_unplugged.leaderboard.validation": ("SubmissionError",),
    "rl_unplugged.evaluation.normalisation": ("MissingReferenceError",),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _GROUPS:
        importlib.import_module(f"rl_unplugged.cli.{name}").register(sub)
    return parser


def _quiet_start() -> None:
    """Keeps TensorFlow's and absl's start-up chatter out of the CLI's output.

    Only the CLI does this (never `import rl_unplugged`): a library must not change its
    host's logging. `TF_CPP_MIN_LOG_LEVEL=3` silences TF's C++ log once it is set up
    (CPU-feature and cuInit lines); `TF_ENABLE_ONEDNN_OPTS` is left alone on purpose
    (it changes the computation, not only the messages).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        from absl import logging as absl_logging
    except ImportError:  # absl comes with TensorFlow and JAX; without both, no noise.
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with file descriptor 2 held aside.

    TF writes its oneDNN and CUDA-stub lines while loading, before its C++ logging
    reads `TF_CPP_MIN_LOG_LEVEL`, so no setting reaches them. What the import wrote is
    replayed only if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _deliberate_key_error(error: KeyError) -> bool:
    """True for a KeyError raised on purpose with a sentence (registries, agents), False
    for a failed dict lookup (a bug)."""
    frames = traceback.extract_tb(error.__traceback__)
    message = error.args[0] if error.args else None
    return (bool(frames) and (frames[-1].line or "").startswith("raise")
            and isinstance(message, str) and " " in message)


def user_error_message(error: BaseException) -> str | None:
    """The one-line message of a user-facing error; None for a bug (keep the traceback)."""
    if isinstance(error, KeyError) and not isinstance(error, UserError):
        return str(error.args[0]) if _deliberate_key_error(error) else None
    legacy = tuple(getattr(sys.modules[module], name)
                   for module, names in _LEGACY_USER_ERRORS.items() if module in sys.modules
                   for name in names)
    if isinstance(error, (UserError, FileNotFoundError, FileExistsError, *legacy)):
        return " ".join(str(error).split()) or type(error).__name__
    return None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning (a store rebuilt, an uncached read) as one line, like errors."""
    text = " ".join(str(message).split())
    print(f"rlu: warning: {text}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    _quiet_start()
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # Restores the host's warning display after.
            warnings.showwarning = _show_warning
            if getattr(args, "needs_tensorflow", False):
                _import_tensorflow_quietly()
            return int(args.func(args) or 0)
    except Exception as e:
        message = user_error_message(e)
        if message is None:
            raise  # A bug: the traceback is what its reader needs.
        print(f"rlu: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

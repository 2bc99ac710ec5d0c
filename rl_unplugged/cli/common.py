"""Pieces the command groups share: library defaults, common options, error wrapping."""

from __future__ import annotations

import argparse
import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from rl_unplugged.errors import ConfigError, UserError

# The repository's board folder, relative to where `rlu` runs (a checkout's root).
BOARD_ROOT = "evaluation"


def library_default(func: Callable[..., Any], name: str) -> Any:
    """The default of parameter `name` of `func`: the CLI shows the library's, never a copy."""
    default = inspect.signature(func).parameters[name].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{func.__qualname__}({name}) has no default")
    return default


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options among `names` the user gave (default None): the rest keep the library's
    defaults, which stay in one place."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")


@contextlib.contextmanager
def as_config_error(flag: str) -> Iterator[None]:
    """Turns a ValueError raised while validating settings into a one-line ConfigError.

    For validators written before `rl_unplugged.errors` existed (config dataclasses);
    use only around code that validates user input.
    """
    try:
        yield
    except ValueError as e:
        if isinstance(e, UserError):
            raise
        raise ConfigError(f"{flag}: {e}") from e

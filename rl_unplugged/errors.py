"""The `UserError` family: what went wrong is the user's input or environment, not a bug.

The CLI turns any `UserError` into one line on stderr and exit status 2; every other
exception is a bug and keeps its traceback. Each class also derives from the builtin
that callers caught before it existed (ValueError, OSError, ...), so `except
ValueError` keeps working. Messages name the file or the field at fault.
"""

from __future__ import annotations


class UserError(Exception):
    """Base of every error caused by input, data or the environment (not a bug)."""


class ConfigError(UserError, ValueError):
    """A setting, hyperparameter or argument is invalid (names the field)."""


class UnknownNameError(UserError, KeyError):
    """An unknown registered name (task, dataset, agent, hyperparameter); lists valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class NotFoundError(UserError, FileNotFoundError):
    """Something that should exist on disk does not (names the path)."""


class CorruptDataError(UserError, OSError):
    """A stored file is missing, truncated, or fails its checksum (names the file)."""


class IncompatibleError(UserError, ValueError):
    """Two things that must match do not (a run and a task, data and an agent, ...)."""


class LockedError(UserError, RuntimeError):
    """Another process holds a lock on the file or directory (names it)."""


class DiskFullError(UserError, OSError):
    """A write failed for lack of space or permission (names the file)."""

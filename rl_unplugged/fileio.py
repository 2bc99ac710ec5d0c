"""Atomic, durable file writes and file digests: the one home of temp-file-plus-rename.

Every file the suite writes that a crash must never leave half-written (manifests,
shards, checkpoints, caches, results, configs) goes through `atomic_write`: the data
goes to a temporary sibling, is fsynced, renamed over the target, and the directory is
fsynced, so readers see the old file or the new one, never a torn one. A write that
fails for lack of space or permission raises `DiskFullError` naming the target.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rl_unplugged.errors import CorruptDataError, DiskFullError, NotFoundError

_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_error(path: Path, error: OSError) -> Exception:
    if error.errno in _SPACE_ERRNOS:
        what = os.strerror(error.errno) if error.errno else str(error)
        return DiskFullError(f"{path}: cannot write ({what})")
    return error


@contextlib.contextmanager
def write_errors_named(path: str | os.PathLike) -> Iterator[None]:
    """For writes that cannot be atomic (appends to a log): a failure for lack of space or
    permission becomes a `DiskFullError` naming `path`, as in `atomic_write`."""
    try:
        yield
    except OSError as e:
        mapped = e if isinstance(e, DiskFullError) else _disk_error(Path(path), e)
        if mapped is e:
            raise
        raise mapped from e


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Calls `write(tmp)`, fsyncs tmp, renames it to `path`, fsyncs the directory.

    Raises:
      DiskFullError: no space, quota, read-only file system or permission (names `path`).
    """
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        raise _disk_error(path, e) from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | os.PathLike, value: Any, *, indent: int | None = 1,
               sort_keys: bool = True) -> Path:
    """Strict JSON (NaN and infinities refused, never written as bare `NaN`)."""
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, allow_nan=False) + "\n"
    return write_text(path, text)


def atomic_directory(target: str | os.PathLike, fill: Callable[[Path], None]) -> Path:
    """Builds a directory with `fill(tmp_dir)` and renames it to `target` whole.

    Any previous `target` is replaced; readers see the old directory or the new one.

    Raises:
      DiskFullError: as `atomic_write`.
    """
    target = Path(target)
    tmp = _tmp_name(target)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        fill(tmp)
        for child in tmp.iterdir():
            if child.is_file():
                with open(child, "rb+") as f:
                    os.fsync(f.fileno())
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)
    except OSError as e:
        raise _disk_error(target, e) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json(path: str | os.PathLike, *, what: str, fmt: str | None = None,
              version: int | None = None) -> Any:
    """A JSON document the suite wrote (a manifest, a pool file), checked on the way in.

    Args:
      path: the file.
      what: what it is, for messages (e.g. 'store manifest').
      fmt, version: when given, the document's "format" (and "format_version") must match.

    Raises:
      NotFoundError: no such file (names it).
      CorruptDataError: unreadable, not JSON, or another format (names the file).
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path}: no {what}")
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptDataError(f"{path}: unreadable {what} ({str(e)[:80]})") from None
    if fmt is not None:
        if not isinstance(value, dict) or value.get("format") != fmt or (
                version is not None and value.get("format_version") != version):
            expected = fmt if version is None else f"{fmt} v{version}"
            found = value.get("format") if isinstance(value, dict) else type(value).__name__
            raise CorruptDataError(f"{path}: not a {expected} {what} (format {found!r})")
    return value

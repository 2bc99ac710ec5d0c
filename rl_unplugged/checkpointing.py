"""Checkpoints and resume states: the one home of pytree (de)serialisation and its checksums.

msgpack, not orbax (installed only via flax, not in setup.py; async multi-host buys nothing here).

Three kinds of files, one set of readers:
- Learner-ensemble checkpoints, `<run_dir>/checkpoints/step_<step:09d>.msgpack`
  (`save` / `restore` / `restore_raw` / `list_checkpoints`): a header line
  `HEADER<sha256 of the payload>\\n`, then the msgpack payload of the whole state.
  Verified on every load. Files written before checksums existed (plain msgpack, no
  header) still load, with a `UnverifiedCheckpointWarning` naming the file: run
  directories of recorded results must stay evaluable.
- Behaviour checkpoints of raw logs (`to_bytes` + `sha256` / `read_payload`): plain msgpack,
  because their bytes are part of a dataset's recorded digest; their SHA-256 lives in the
  raw log's manifest and is checked by `read_payload`.
- Resume states of generation: flat dicts of NumPy arrays (`to_flat_dict` /
  `from_flat_dict`), saved inside the raw log's resume file.

A damaged file (byte flip, truncation, garbage) raises `CorruptDataError` naming it; a
file of another configuration (other structure, shapes or dtypes) raises
`IncompatibleError` naming it. Writes are atomic (`rl_unplugged.fileio`).
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

from rl_unplugged import fileio
from rl_unplugged.errors import CorruptDataError, IncompatibleError, NotFoundError

CHECKPOINT_DIR = "checkpoints"
HEADER = b"rl_unplugged checkpoint sha256="
_DIGEST_CHARS = 64
_HEADER_SIZE = len(HEADER) + _DIGEST_CHARS + 1  # + "\n"
_PATTERN = re.compile(r"^step_(\d+)\.msgpack$")


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint without a checksum (written before checksums) was loaded unverified."""


# ---------------------------------------------------------------------------------------
# Bytes: encoding, checksums, decoding against a template.


def to_bytes(tree: Any) -> bytes:
    """The msgpack bytes of a pytree of arrays (deterministic for equal trees)."""
    return serialization.to_bytes(tree)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _reason(error: Exception, limit: int = 100) -> str:
    """A one-line description of `error` (messages from msgpack and flax can be long)."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0][:limit]}" if lines else type(error).__name__


def _check_digest(path: Path, data: bytes, expected: str) -> None:
    if sha256(data) != expected:
        raise CorruptDataError(f"{path}: checksum mismatch (truncated or corrupted checkpoint)")


def _decode(path: Path, payload: bytes) -> dict:
    """The nested state dict of a msgpack payload."""
    try:
        state = serialization.msgpack_restore(payload)
    except Exception as e:  # noqa: BLE001 - msgpack raises many types on garbage.
        raise CorruptDataError(f"{path}: not a readable checkpoint ({_reason(e)})") from e
    if not isinstance(state, dict):
        raise CorruptDataError(f"{path}: not a checkpoint (holds a {type(state).__name__})")
    return state


def _leaf_name(key_path) -> str:
    return jax.tree_util.keystr(key_path) or "<root>"


def _restore(path: Path, template: Any, state: dict) -> Any:
    """`state` (from `_decode`) shaped like `template`; structure, shapes, dtypes checked."""
    expected = jax.tree_util.tree_flatten_with_path(template)[0]
    stored = len(jax.tree_util.tree_leaves(state))
    if stored != len(expected):  # flax drops entries the template lacks: refuse instead.
        raise IncompatibleError(f"{path}: a checkpoint of another configuration "
                                f"({stored} arrays, expected {len(expected)})")
    try:
        tree = serialization.from_state_dict(template, state)
    except (ValueError, KeyError, TypeError) as e:
        raise IncompatibleError(f"{path}: a checkpoint of another configuration "
                                f"({_reason(e)})") from e
    got = jax.tree_util.tree_leaves(tree)
    for (key_path, want), have in zip(expected, got, strict=True):
        want_dtype, have_dtype = getattr(want, "dtype", None), getattr(have, "dtype", None)
        if np.shape(want) != np.shape(have) or (want_dtype is not None and have_dtype is not None
                                                and np.dtype(want_dtype) != np.dtype(have_dtype)):
            raise IncompatibleError(
                f"{path}: a checkpoint of another configuration ({_leaf_name(key_path)} is "
                f"{np.shape(have)} {have_dtype}, expected {np.shape(want)} {want_dtype})")
    return tree


# ---------------------------------------------------------------------------------------
# Checksummed files (learner checkpoints).


def write(path: str | os.PathLike, tree: Any) -> Path:
    """Writes `tree` atomically as a checksummed checkpoint file (header + msgpack)."""
    payload = to_bytes(tree)
    return fileio.write_bytes(path, HEADER + sha256(payload).encode() + b"\n" + payload)


def _header_digest(path: Path, data: bytes) -> str | None:
    """The digest a checkpoint's header records (`data`: the file, or at least its first
    `_HEADER_SIZE` bytes); None for a file written before checksums.

    Raises:
      CorruptDataError: the file ends or is damaged inside the header.
    """
    if data.startswith(HEADER):
        if data[_HEADER_SIZE - 1:_HEADER_SIZE] != b"\n":
            raise CorruptDataError(f"{path}: truncated or corrupted checkpoint header")
        return data[len(HEADER):_HEADER_SIZE - 1].decode("ascii", errors="replace")
    if HEADER.startswith(data[:len(HEADER)]):  # Cut inside the header (empty file included).
        raise CorruptDataError(f"{path}: truncated checkpoint ({len(data)} bytes)")
    return None


def _read_verified(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: checkpoint file missing") from None
    digest = _header_digest(path, data)
    if digest is not None:
        payload = data[_HEADER_SIZE:]
        _check_digest(path, payload, digest)
        return _decode(path, payload)
    state = _decode(path, data)
    warnings.warn(f"{path}: checkpoint has no checksum (written before checksums); "
                  f"loaded unverified", UnverifiedCheckpointWarning, stacklevel=3)
    return state


def read(path: str | os.PathLike, template: Any = None) -> Any:
    """A checkpoint file's pytree, verified against its checksum.

    Args:
      path: a file written by `write`.
      template: a pytree the state must match (structure, shapes, dtypes); None returns
        the nested dict of NumPy arrays.

    Raises:
      NotFoundError: no such file.
      CorruptDataError: checksum mismatch, truncation or not a checkpoint (names the file).
      IncompatibleError: the checkpoint does not match `template` (names the file).
    """
    path = Path(path)
    state = _read_verified(path)
    return state if template is None else _restore(path, template, state)


# ---------------------------------------------------------------------------------------
# Payloads whose checksum is kept elsewhere (behaviour checkpoints of raw logs).


def read_payload(path: str | os.PathLike, expected_sha256: str, template: Any) -> Any:
    """The pytree in a plain msgpack file whose SHA-256 is recorded elsewhere.

    Raises:
      CorruptDataError: the file is missing, fails its checksum or is not msgpack.
      IncompatibleError: the file does not match `template`.
    """
    path = Path(path)
    if not path.exists():
        raise CorruptDataError(f"{path}: checkpoint file missing")
    data = path.read_bytes()
    _check_digest(path, data, expected_sha256)
    return _restore(path, template, _decode(path, data))


# ---------------------------------------------------------------------------------------
# Learner-ensemble checkpoints of a run directory.


def checkpoint_path(run_dir: str | os.PathLike, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:09d}.msgpack"


def save(run_dir: str | os.PathLike, step: int, state: Any) -> Path:
    """Writes `state` (any pytree of arrays) as the checksummed checkpoint of `step`."""
    return write(checkpoint_path(run_dir, step), state)


def checkpoint_digest(run_dir: str | os.PathLike, step: int) -> str | None:
    """The SHA-256 its header records for a run's checkpoint (None: written before
    checksums), read from the header alone: which parameters a record was made from.

    Raises:
      NotFoundError: no checkpoint at `step`.
      CorruptDataError: the file ends or is damaged inside the header.
    """
    path = checkpoint_path(run_dir, step)
    try:
        with open(path, "rb") as f:
            return _header_digest(path, f.read(_HEADER_SIZE))
    except FileNotFoundError:
        raise NotFoundError(f"{path}: checkpoint file missing") from None


def list_checkpoints(run_dir: str | os.PathLike) -> list[int]:
    """Steps of the run's checkpoints, ascending."""
    directory = Path(run_dir) / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _PATTERN.match(p.name)))


def _resolve(run_dir: Path, step: int | None) -> int:
    steps = list_checkpoints(run_dir)
    if not steps:
        raise NotFoundError(f"{run_dir} holds no checkpoints")
    if step is None:
        return steps[-1]
    if step not in steps:
        raise NotFoundError(f"{run_dir}: no checkpoint at step {step}; have {steps}")
    return step


def restore(run_dir: str | os.PathLike, template: Any, step: int | None = None
            ) -> tuple[int, Any]:
    """(step, state) of the checkpoint (default: the latest), shaped like `template`.

    Raises:
      NotFoundError: no checkpoint (at `step`).
      CorruptDataError, IncompatibleError: as `read`.
    """
    step = _resolve(Path(run_dir), step)
    return step, read(checkpoint_path(run_dir, step), template)


def restore_raw(run_dir: str | os.PathLike, step: int | None = None) -> tuple[int, dict]:
    """(step, nested dict of NumPy arrays) without a template (verified like `restore`)."""
    step = _resolve(Path(run_dir), step)
    return step, read(checkpoint_path(run_dir, step))


# ---------------------------------------------------------------------------------------
# Resume states: pytrees <-> flat dicts of NumPy arrays.


def to_flat_dict(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    """Copies the leaves of `tree` to host NumPy arrays keyed `<prefix><i:04d>`.

    Leaves are in `jax.tree_util` flattening order; the structure comes back from a
    template (`from_flat_dict`).
    """
    leaves = jax.tree_util.tree_leaves(tree)
    return {f"{prefix}{i:04d}": np.asarray(leaf) for i, leaf in enumerate(leaves)}


def from_flat_dict(template: Any, flat: dict[str, np.ndarray], prefix: str,
                   source: str | os.PathLike = "resume state") -> Any:
    """Rebuilds a pytree shaped like `template` from `to_flat_dict` output.

    Raises:
      IncompatibleError: a leaf is missing, extra, or has another shape or dtype (a state
        saved by another configuration); the message names `source`.
    """
    leaves, treedef = jax.tree_util.tree_flatten(template)
    keys = sorted(k for k in flat if k.startswith(prefix))
    if len(keys) != len(leaves):
        raise IncompatibleError(f"{source}: {len(keys)} '{prefix}' leaves, expected "
                                f"{len(leaves)} (saved by another configuration)")
    out = []
    for i, leaf in enumerate(leaves):
        key = f"{prefix}{i:04d}"
        value = flat.get(key)
        leaf = np.asarray(leaf)
        if value is None or value.shape != leaf.shape or value.dtype != leaf.dtype:
            got = None if value is None else (value.shape, value.dtype)
            raise IncompatibleError(f"{source}: leaf {key} is {got}, expected "
                                    f"{(leaf.shape, leaf.dtype)} (saved by another "
                                    f"configuration)")
        out.append(jax.numpy.asarray(value))
    return jax.tree_util.tree_unflatten(treedef, out)

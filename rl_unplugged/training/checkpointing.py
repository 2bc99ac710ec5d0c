"""Checkpoints of the whole (ensemble) TrainingState.

We use `flax.serialization` (msgpack): one self-contained file per checkpoint holding
the exact bytes of every array, restorable with or without a template, and no extra
dependency or async machinery (orbax's strengths: multi-host, async, sharded
arrays, are not needed for single-host ensembles of small networks).
Files are written atomically (temp file + rename), so a run killed mid-write keeps
its previous checkpoint.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flax import serialization

from rl_unplugged import fileio

CHECKPOINT_DIR = "checkpoints"
_PATTERN = re.compile(r"^step_(\d+)\.msgpack$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:09d}.msgpack"


def save(run_dir: Path, step: int, state: Any) -> Path:
    """Writes `state` (any pytree of arrays) as the checkpoint of `step`."""
    path = checkpoint_path(run_dir, step)
    return fileio.write_bytes(path, serialization.to_bytes(state))


def list_checkpoints(run_dir: str | os.PathLike) -> list[int]:
    """Steps of the run's checkpoints, ascending."""
    directory = Path(run_dir) / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _PATTERN.match(p.name)))


def _resolve(run_dir: Path, step: int | None) -> int:
    steps = list_checkpoints(run_dir)
    if not steps:
        raise FileNotFoundError(f"{run_dir} holds no checkpoints")
    if step is None:
        return steps[-1]
    if step not in steps:
        raise FileNotFoundError(f"{run_dir}: no checkpoint at step {step}; have {steps}")
    return step


def restore(run_dir: Path, template: Any, step: int | None = None) -> tuple[int, Any]:
    """(step, state) of the checkpoint (default: the latest), shaped like `template`."""
    step = _resolve(Path(run_dir), step)
    return step, serialization.from_bytes(template, checkpoint_path(run_dir, step).read_bytes())


def restore_raw(run_dir: Path, step: int | None = None) -> tuple[int, dict]:
    """(step, nested dict of NumPy arrays) without a template."""
    step = _resolve(Path(run_dir), step)
    return step, serialization.msgpack_restore(checkpoint_path(run_dir, step).read_bytes())

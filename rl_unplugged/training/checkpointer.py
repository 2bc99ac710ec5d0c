"""The training loop's checkpointer: when to save, where from to resume.

It wraps the checkpoint files of a run directory (`save`, `restore`,
`list_checkpoints`) with a schedule; the loop asks `due(step, final)` after every
jitted chunk and `restore(template)` once before the first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rl_unplugged import checkpointing  # save, restore, list_checkpoints(run_dir, ...)
from rl_unplugged.errors import ConfigError


class Checkpointer:
    """Checkpoints of one run directory, every `every` updates and at the end.

    Args:
      run_dir: the run directory (checkpoints go to its `checkpoints/`).
      every: updates between checkpoints; None: only at the end of training.
      resume: whether `restore` continues from the latest checkpoint (False: start
        from the initial state even if checkpoints exist).

    Raises:
      ConfigError: `every` is not positive.
    """

    def __init__(self, run_dir: str | os.PathLike, *, every: int | None = None,
                 resume: bool = True):
        if every is not None and every <= 0:
            raise ConfigError(f"checkpoint_every must be > 0, got {every}")
        self.run_dir = Path(run_dir)
        self.every = every
        self.resume = resume

    def steps(self) -> list[int]:
        """Steps of the run's checkpoints, ascending."""
        return checkpointing.list_checkpoints(self.run_dir)

    def latest(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def restore(self, template: Any) -> tuple[int, Any]:
        """(step, state) to start from: the latest checkpoint, or (0, template)."""
        if not self.resume or self.latest() is None:
            return 0, template
        return checkpointing.restore(self.run_dir, template)

    def due(self, step: int, *, final: bool) -> bool:
        """Whether to save after reaching `step` (`final`: the last update of the run)."""
        return final or (self.every is not None and step % self.every == 0)

    def save(self, step: int, state: Any) -> Path:
        # Looked up on the module at call time, so tests can interrupt a save.
        return checkpointing.save(self.run_dir, step, state)

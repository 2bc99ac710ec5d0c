"""A run directory: the identity of a run (config.json), its resume point and failure.json.

Layout: `config.json` (the run's header), `metrics.jsonl`, `probes.jsonl`,
`checkpoints/`, `plots/` and, after a non-finite metric, `failure.json`. A directory
holds one run: reopening it with a header that differs in an `IDENTITY` key is
refused, and an equal one resumes from its latest checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rl_unplugged import fileio
from rl_unplugged.errors import ConfigError, IncompatibleError
from rl_unplugged.training import logs
from rl_unplugged.training.checkpointer import Checkpointer

CONFIG_FILE = "config.json"
FAILURE_FILE = "failure.json"
# config.json keys that must agree for a run directory to be resumed (`steps` and the
# checkpoint interval may change: a finished run can be extended).
IDENTITY = ("agent", "config", "task", "seeds", "grid", "log_every", "probe_every",
            "probe_size", "data")


class RunDir:
    """One run's directory on disk."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def failure_path(self) -> Path:
        return self.path / FAILURE_FILE

    @property
    def metrics(self) -> logs.JsonlLogger:
        return logs.JsonlLogger(self.path / logs.METRICS_FILE)

    @property
    def probes(self) -> logs.JsonlLogger:
        return logs.JsonlLogger(self.path / logs.PROBES_FILE)

    def read_config(self) -> dict[str, Any] | None:
        """The recorded header, or None for a new directory."""
        if not self.config_path.exists():
            return None
        return json.loads(self.config_path.read_text())

    def open(self, header: Mapping[str, Any], *, resume: bool = True) -> int:
        """Claims the directory for the run `header` describes; returns its resume point.

        A directory with the same identity resumes from its latest checkpoint (its
        logs are cut back to that step); failure.json of an earlier attempt is removed
        and config.json (re)written.

        Args:
          header: the run's config.json content (holds every `IDENTITY` key).
          resume: continue an existing run; False refuses a directory holding one.

        Returns:
          The step to start from: the latest checkpoint's, or 0.

        Raises:
          IncompatibleError: the directory holds a different run (names the keys).
          ConfigError: it holds this run but `resume` is False.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        start = 0
        previous = self.read_config()
        if previous is not None:
            as_json = json.loads(json.dumps({k: header[k] for k in IDENTITY}))
            changed = [k for k in IDENTITY if previous.get(k) != as_json[k]]
            if changed:
                raise IncompatibleError(f"{self.path} holds a different run (differs in "
                                        f"{changed}); use another --out or delete it")
            latest = Checkpointer(self.path).latest()
            if resume and latest is not None:
                start = latest
                self.metrics.truncate_after(start)
                self.probes.truncate_after(start)
            elif latest is not None or self.metrics.read():
                raise ConfigError(f"{self.path} already holds a run; pass resume=True "
                                  f"(drop --no-resume) or delete it")
        self.failure_path.unlink(missing_ok=True)
        fileio.write_json(self.config_path, dict(header), indent=2)
        return start

    def write_failure(self, failure: Mapping[str, Any]) -> Path:
        return fileio.write_json(self.failure_path, dict(failure), indent=2)

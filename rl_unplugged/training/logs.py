"""Loggers: where the training loop's rows go.

A row is a flat dict, one per (step, member): `{"step": 1000, "member": 0, "loss": ...}`.
Any object with `write(rows)` and `close()` is a `Logger` (a list, a JSONL file, a
progress bar, an experiment tracker); the loop only ever calls `write`, and whoever
made a logger closes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rl_unplugged import fileio

METRICS_FILE = "metrics.jsonl"
PROBES_FILE = "probes.jsonl"

Row = dict[str, Any]


@runtime_checkable
class Logger(Protocol):
    """Receives rows as they are produced; `close()` releases what it holds."""

    def write(self, rows: list[Row]) -> None: ...

    def close(self) -> None: ...


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    value = float(value)
    return value if math.isfinite(value) else str(value)  # JSON has no NaN/inf.


def member_rows(step: int, values: Mapping[str, Any], extra: dict | None = None) -> list[Row]:
    """One row per member: {'step', 'member', **extra, name: float(values[name][member])}.

    `values` maps names to (members,) arrays.
    """
    n = len(next(iter(values.values())))
    return [{"step": step, "member": m, **(extra or {}),
             **{k: float(v[m]) for k, v in values.items()}} for m in range(n)]


class JsonlLogger:
    """Appends rows to a JSON Lines file; `truncate_after(step)` drops rows past a resume point.

    Non-finite floats are written as the strings 'nan', 'inf', '-inf' (JSON has none).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        # Opened per write: a killed run leaves whole lines, and there is nothing to close.
        with fileio.write_errors_named(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                for row in rows:
                    f.write(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n")

    def close(self) -> None:
        pass

    def read(self) -> list[Row]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def truncate_after(self, step: int) -> None:
        """Keeps the rows with `row['step'] <= step` (atomically rewritten)."""
        rows = [r for r in self.read() if r["step"] <= step]
        fileio.write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))


class ListLogger:
    """Keeps rows in memory (`.rows`), e.g. for `TrainResult` or a notebook."""

    def __init__(self):
        self.rows: list[Row] = []

    def write(self, rows: list[Row]) -> None:
        self.rows.extend(rows)

    def close(self) -> None:
        pass


class ProgressLogger:
    """A tqdm progress bar on stderr: updates done, updates/s and the members' mean loss.

    Args:
      total: updates per member the run will reach.
      initial: updates already done (a resumed run).
      desc: the bar's label.
    """

    def __init__(self, total: int, *, initial: int = 0, desc: str = ""):
        from tqdm.auto import tqdm  # Lazy: only runs that show a bar need tqdm.

        self.bar = tqdm(total=total, initial=initial, unit="upd", unit_scale=True,
                         dynamic_ncols=True, desc=desc)

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        self.bar.update(rows[-1]["step"] - self.bar.n)
        losses = [r["loss"] for r in rows if "loss" in r]
        if losses:
            self.bar.set_postfix(loss=f"{sum(losses) / len(losses):.4g}")

    def close(self) -> None:
        self.bar.close()

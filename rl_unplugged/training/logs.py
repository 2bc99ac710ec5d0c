"""Run logs: JSON Lines files of metrics and probes, one row per (step, member)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rl_unplugged import fileio

METRICS_FILE = "metrics.jsonl"
PROBES_FILE = "probes.jsonl"


def _clean(value: Any) -> Any:
    value = float(value)
    return value if math.isfinite(value) else str(value)  # JSON has no NaN/inf.


class JsonlLogger:
    """Appends rows to a JSONL file; `truncate_after(step)` drops rows past a resume point."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            for row in rows:
                f.write(json.dumps({k: (v if isinstance(v, int | str) else _clean(v))
                                    for k, v in row.items()}) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def truncate_after(self, step: int) -> None:
        rows = [r for r in self.read() if r["step"] <= step]
        fileio.write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))

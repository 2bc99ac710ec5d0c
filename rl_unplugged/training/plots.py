"""PNG plots of a run's losses, Q-values and probes (matplotlib, no pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_GROUPS = {
    "losses": ("loss", "td_loss", "cql_penalty", "grad_norm"),
    "q_values": ("q_data", "q_max", "target", "accuracy", "entropy"),
    "probes": ("srank", "erank", "feature_rank", "feature_norm", "dr3", "dormant_0",
               "dormant_0.025", "dormant_0.1"),
}


def _series(rows: list[dict[str, Any]], key: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    out: dict[int, list] = {}
    for row in rows:
        if key in row and isinstance(row[key], int | float):
            out.setdefault(row["member"], []).append((row["step"], row[key]))
    return {m: tuple(np.asarray(v).T) for m, v in out.items()}


def plot_group(rows: list[dict[str, Any]], keys: tuple[str, ...], path: Path, title: str
               ) -> Path | None:
    keys = tuple(k for k in keys if _series(rows, k))
    if not keys:
        return None
    fig = Figure(figsize=(4 * len(keys), 3.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys, strict=True):
        for member, (x, y) in sorted(_series(rows, key).items()):
            ax.plot(x, y, lw=1, label=f"member {member}")
        ax.set_title(key)
        ax.set_xlabel("updates")
    if len(_series(rows, keys[0])) <= 8:
        axes[0].legend(fontsize=7)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    return path


def plot_run(run_dir: Path, metrics: list[dict], probes: list[dict]) -> list[Path]:
    """Writes plots/{losses,q_values,probes}.png; returns the paths written."""
    out = Path(run_dir) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, keys in _GROUPS.items():
        rows = probes if name == "probes" else metrics
        p = plot_group(rows, keys, out / f"{name}.png", name.replace("_", " "))
        if p is not None:
            written.append(p)
    return written

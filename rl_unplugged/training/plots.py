"""PNG plots of a run's losses, Q-values and probes (matplotlib, no pyplot state)."""

from __future__ import annotations

import json
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


def member_labels(members: list[dict[str, Any]]) -> dict[int, str]:
    """{member: 'seed 0, alpha=1'} from config.json's members (seed and grid point)."""
    out = {}
    for m in members:
        grid = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in (m.get("grid") or {}).items())
        out[int(m["member"])] = f"seed {m['seed']}" + (f", {grid}" if grid else "")
    return out


_MAX_COLUMNS = 4  # Panels per row: eight probes read as 2 x 4, not a 2880-px strip.
_MAX_LEGEND = 16  # Members named in the legend; larger ensembles would bury the plot.


def plot_group(rows: list[dict[str, Any]], keys: tuple[str, ...], path: Path, title: str,
               labels: dict[int, str] | None = None) -> Path | None:
    """One panel per key (a grid of up to four columns), one line per member.

    Args:
      rows: logged rows with 'member', 'step' and the keys.
      labels: legend label of each member (default 'member i').
    """
    keys = tuple(k for k in keys if _series(rows, k))
    if not keys:
        return None
    ncols = min(_MAX_COLUMNS, len(keys))
    nrows = -(-len(keys) // ncols)
    fig = Figure(figsize=(3.6 * ncols + 1.6, 2.8 * nrows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, key in zip(axes, keys, strict=False):
        for member, (x, y) in sorted(_series(rows, key).items()):
            ax.plot(x, y, lw=1, label=(labels or {}).get(member, f"member {member}"))
        ax.set_title(key)
        ax.set_xlabel("updates")
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    if len(_series(rows, keys[0])) <= _MAX_LEGEND:
        # One legend for the figure, beside the panels: never over a curve.
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper",
                   fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    return path


def _read_labels(run_dir: Path) -> dict[int, str] | None:
    path = Path(run_dir) / "config.json"
    if not path.exists():
        return None
    return member_labels(json.loads(path.read_text()).get("members") or [])


def plot_run(run_dir: Path, metrics: list[dict], probes: list[dict]) -> list[Path]:
    """Writes plots/{losses,q_values,probes}.png; returns the paths written.

    Members are labelled by seed and grid values (from the run's config.json).
    """
    out = Path(run_dir) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    labels = _read_labels(run_dir)
    written = []
    for name, keys in _GROUPS.items():
        rows = probes if name == "probes" else metrics
        p = plot_group(rows, keys, out / f"{name}.png", name.replace("_", " "), labels)
        if p is not None:
            written.append(p)
    return written

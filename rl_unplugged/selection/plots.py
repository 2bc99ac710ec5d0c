"""Plots of a selection study: criterion vs true return, regret@k bars, top-k curves."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rl_unplugged import fileio


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    fileio.write_bytes(path, buf.getvalue())


def write_plots(table: pd.DataFrame, summary: dict[str, Any], criteria: Sequence[str],
                out_dir: Path) -> list[Path]:
    """scatter.png, regret.png, top_k.png under `out_dir`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    n = len(criteria)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, criteria, strict=False):
        score = table[f"{name}_score"].to_numpy(float)
        ok = np.isfinite(score)
        for agent in sorted(table["agent"].unique()):
            sel = ok & (table["agent"] == agent).to_numpy()
            ax.scatter(score[sel], table["true_normalised"][sel], s=14, label=agent)
        rho = summary["metrics"][name]["spearman"]["mean"]
        better = "higher" if summary["metrics"][name]["higher_is_better"] else "lower"
        ax.set_title(f"{name} (rho {rho if rho is None else f'{rho:+.2f}'})", fontsize=9)
        ax.set_xlabel(f"{name} score ({better} is better)", fontsize=8)
        ax.set_ylabel("true normalised return", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(out_dir / "scatter.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1.2 * n + 2, 3.0))
    ks = [1, 3, 5]
    width = 0.8 / len(ks)
    for i, k in enumerate(ks):
        vals = [summary["metrics"][c]["regret_at_k"].get(k, summary["metrics"][c]
                                                         ["regret_at_k"].get(str(k)))
                for c in criteria]
        ax.bar(np.arange(n) + i * width, [np.nan if v is None else v for v in vals], width,
               label=f"k={k}")
    ax.set_xticks(np.arange(n) + width, criteria)
    ax.set_ylabel("normalised regret@k (lower is better)")
    ax.legend(fontsize=8)
    paths.append(out_dir / "regret.png")
    _save(fig, paths[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    true = table["true_normalised"].to_numpy(float)
    for name in criteria:
        rank = pd.to_numeric(table[f"{name}_rank"], errors="coerce").to_numpy(float)
        order = np.argsort(np.where(np.isfinite(rank), rank, np.inf), kind="stable")
        order = order[np.isfinite(rank[order])]
        if len(order):
            ax.plot(np.arange(1, len(order) + 1), np.cumsum(true[order]) / np.arange(
                1, len(order) + 1), label=name)
    ax.set_xlabel("k (candidates deployed, best first by criterion)")
    ax.set_ylabel("mean true normalised return of top-k")
    ax.legend(fontsize=7)
    paths.append(out_dir / "top_k.png")
    _save(fig, paths[-1])
    plt.close(fig)
    return paths

"""Summaries of a dataset's episodes: counts, return statistics, a return plot."""

from __future__ import annotations

import os

import numpy as np

from rl_unplugged.data import fields as F


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"episodes": int(len(x)), "mean": float(np.mean(x)), "std": float(np.std(x)),
            "min": float(np.min(x)), "max": float(np.max(x))}


def return_statistics(metadata: dict[str, np.ndarray]) -> dict:
    """Return statistics overall and per behaviour checkpoint.

    Args:
      metadata: episode metadata columns (episode_return, episode_length, checkpoint...).

    Returns:
      {'episodes', 'transitions', 'returns': {mean, std, min, max, episodes},
       'by_checkpoint': {checkpoint: stats}} ('by_checkpoint' empty if no checkpoint >= 0).
    """
    returns = np.asarray(metadata[F.EPISODE_RETURN], np.float64)
    if returns.size == 0:
        raise ValueError("no episodes")
    out = {"episodes": int(returns.size),
           "transitions": int(np.sum(metadata[F.EPISODE_LENGTH])),
           "returns": _stats(returns), "by_checkpoint": {}}
    checkpoint = np.asarray(metadata.get(F.CHECKPOINT, np.full(returns.size, -1)))
    for c in np.unique(checkpoint[checkpoint >= 0]):
        out["by_checkpoint"][int(c)] = _stats(returns[checkpoint == c])
    return out


def learning_curve(metadata: dict[str, np.ndarray], bins: int = 10) -> list[float | None]:
    """Mean logged return of the episodes ending in each of `bins` equal parts of the
    log's transitions (in logging order); None for a part where no episode ends.

    For a replay log this is the behaviour agent's learning curve, exploration and
    action noise included.
    """
    lengths = np.asarray(metadata[F.EPISODE_LENGTH], np.int64)
    returns = np.asarray(metadata[F.EPISODE_RETURN], np.float64)
    if returns.size == 0:
        raise ValueError("no episodes")
    ends = np.cumsum(lengths)
    which = np.minimum((ends - 1) * bins // max(int(ends[-1]), 1), bins - 1)
    return [float(returns[which == b].mean()) if (which == b).any() else None
            for b in range(bins)]


def tail_means(metadata: dict[str, np.ndarray], fraction: float = 0.1) -> tuple[float, float]:
    """Mean return of the first and of the last `fraction` of episodes (logging order)."""
    returns = np.asarray(metadata[F.EPISODE_RETURN], np.float64)
    if returns.size == 0:
        raise ValueError("no episodes")
    k = max(1, int(returns.size * fraction))
    return float(returns[:k].mean()), float(returns[-k:].mean())


def plot_returns(metadata: dict[str, np.ndarray], path: str | os.PathLike, title: str) -> None:
    """Saves a histogram of episode returns and the returns along the log (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    returns = np.asarray(metadata[F.EPISODE_RETURN], np.float64)
    fig, (hist, trace) = plt.subplots(1, 2, figsize=(10, 3.5))
    hist.hist(returns, bins=min(50, max(5, returns.size // 5)))
    hist.set(xlabel="episode return", ylabel="episodes", title="return distribution")
    ids = np.asarray(metadata[F.EPISODE_ID])
    checkpoint = np.asarray(metadata.get(F.CHECKPOINT, np.full(returns.size, -1)))
    points = trace.scatter(ids, returns, s=4, c=checkpoint, cmap="viridis")
    trace.set(xlabel="episode id (logging order)", ylabel="return",
              title="returns while logging")
    if np.any(checkpoint >= 0):  # Random and expert logs have no checkpoints to colour.
        bar = fig.colorbar(points, ax=trace)
        bar.set_label("behaviour checkpoint")
        bar.locator = matplotlib.ticker.MaxNLocator(integer=True)
        bar.update_ticks()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

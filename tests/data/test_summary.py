"""The return plot of `rlu datasets inspect` explains its colours."""

import numpy as np
from matplotlib.figure import Figure

from rl_unplugged.data import fields as F
from rl_unplugged.data import summary


def _metadata(checkpoints):
    n = len(checkpoints)
    return {F.EPISODE_ID: np.arange(n), F.CHECKPOINT: np.asarray(checkpoints),
            F.EPISODE_RETURN: np.linspace(0.0, 1.0, n), F.EPISODE_LENGTH: np.full(n, 10)}


def test_checkpoint_colours_get_a_colorbar(tmp_path, monkeypatch):
    bars = []
    original = Figure.colorbar

    def spy(self, *args, **kwargs):
        bar = original(self, *args, **kwargs)
        bars.append(bar)
        return bar

    monkeypatch.setattr(Figure, "colorbar", spy)
    summary.plot_returns(_metadata(np.arange(30) // 10), tmp_path / "a.png", "x")
    assert len(bars) == 1 and bars[0].ax.get_ylabel() == "behaviour checkpoint"
    summary.plot_returns(_metadata(np.full(30, -1)), tmp_path / "b.png", "random")
    assert len(bars) == 1  # No checkpoints (random or expert data): nothing to explain.

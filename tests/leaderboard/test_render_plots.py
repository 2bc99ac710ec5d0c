"""The aggregate plot: tick labels never collide, entry names are not cut."""

import itertools

from rl_unplugged.leaderboard import render

METRICS = ("IQM", "Median", "Mean", "Optimality Gap")


def _estimates(names):
    # Ranges that made rliable's fixed-width panels print '1.2' against the next '0.0'.
    spans = {"IQM": (0.25, 1.19), "Median": (0.0, 0.97), "Mean": (0.46, 1.78),
             "Optimality Gap": (0.32, 0.67)}
    return {n: {m: (sum(spans[m]) / 2 + 0.01 * i, spans[m][0], spans[m][1]) for m in METRICS}
            for i, n in enumerate(names)}


def test_tick_labels_do_not_overlap_and_names_are_whole():
    names = ["QR-DQN (classic noise0 baseline)", "CQL (classic noise0 baseline)",
             "a much longer entry name that goes on well past forty characters"]
    fig = render.aggregates_figure(_estimates(names))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for ax in fig.axes
             for tick, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
             if min(ax.get_xlim()) <= tick <= max(ax.get_xlim())]  # The ones drawn.
    assert len(boxes) >= 3 * len(METRICS)
    boxes.append(fig._supxlabel.get_window_extent(renderer))
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    shown = [t.get_text().replace("\n", " ") for t in fig.axes[0].get_yticklabels()]
    assert shown == names


def test_shared_cut_labels_get_entry_numbers():
    long = "x" * 90
    assert render._plot_labels([long + "a", long + "b", "c$"]) == [
        "x" * 80 + "… #0", "x" * 80 + "… #1", r"c\$"]

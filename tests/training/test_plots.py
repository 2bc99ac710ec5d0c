"""Run plots: readable panel grids, members labelled by seed and grid values."""

import json

from PIL import Image

from rl_unplugged.training import plots


def _rows(keys, members=4, steps=(0, 10, 20)):
    return [{"member": m, "step": s, **{k: float(m + s + i) for i, k in enumerate(keys)}}
            for m in range(members) for s in steps]


def test_eight_probe_panels_are_a_grid_not_a_strip(tmp_path):
    keys = plots._GROUPS["probes"]
    path = plots.plot_group(_rows(keys), keys, tmp_path / "probes.png", "probes")
    width, height = Image.open(path).size
    assert width / height < 3  # 2 rows x 4 columns; a 1 x 8 strip is 10:1.


def test_member_labels_name_seed_and_grid_values():
    members = [{"member": 0, "seed": 0, "grid": {"alpha": 1.0}},
               {"member": 1, "seed": 0, "grid": {"alpha": 4.0, "learning_rate": 3e-4}},
               {"member": 2, "seed": 7, "grid": {}}]
    assert plots.member_labels(members) == {0: "seed 0, alpha=1",
                                            1: "seed 0, alpha=4, learning_rate=0.0003",
                                            2: "seed 7"}


def test_plot_run_labels_members_from_the_run_config(tmp_path, monkeypatch):
    members = [{"member": m, "seed": m // 2, "grid": {"alpha": [1.0, 4.0][m % 2]}}
               for m in range(4)]
    (tmp_path / "config.json").write_text(json.dumps({"members": members}))
    seen = {}

    def spy(rows, keys, path, title, labels=None):
        seen[title] = labels
        return path

    monkeypatch.setattr(plots, "plot_group", spy)
    plots.plot_run(tmp_path, _rows(("loss",)), _rows(("srank",)))
    assert seen["losses"] == {0: "seed 0, alpha=1", 1: "seed 0, alpha=4",
                              2: "seed 1, alpha=1", 3: "seed 1, alpha=4"}

"""`rlu select`: the toy study's JSON and one-line errors."""

import json

from rl_unplugged.cli import main


def test_select_toy_prints_one_json_object(capsys):
    code = main(["select", "toy", "--x", "0.6", "--seeds", "1", "--json", "--criteria",
                 "td,sbv", "--rollouts", "100", "--bootstrap-samples", "5"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["spearman"]) == {"td", "sbv"} and out["task"]["x"] == 0.6
    assert all(-1 <= v <= 1 for v in out["spearman"].values())


def test_select_errors_are_one_line(capsys):
    assert main(["select", "toy", "--x", "0.9", "--seeds", "1"]) == 2
    assert "x must be in [0.5, 0.75]" in capsys.readouterr().err
    assert main(["select", "toy", "--criteria", "td,bogus"]) == 2
    assert "unknown criterion 'bogus'" in capsys.readouterr().err
    assert main(["select"]) == 2
    assert "give `toy` or --pool" in capsys.readouterr().err

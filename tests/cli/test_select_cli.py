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
    assert "give `toy`, `mhealth` or --pool" in capsys.readouterr().err


def test_select_pool_writes_the_study(tmp_path, capsys):
    from rl_unplugged.selection import pool
    from tests.helpers import tiny_spec, write_random_log

    name = "rlu_bsuite/catch_noise10_run0"
    write_random_log(tiny_spec(name, num_steps=300), tmp_path)
    pool.build_pool(name, tmp_path / "pool",
                    [pool.RunSpec(key="dqn", agent="dqn",
                                  config={"hidden": (8,), "batch_size": 16},
                                  grid={"learning_rate": (1e-3, 1e-2)})],
                    steps=10, checkpoint_every=10, data_dir=tmp_path)
    code = main(["select", "--pool", str(tmp_path / "pool"), "--criteria", "td,fqe", "--out",
                 str(tmp_path / "study"), "--data-dir", str(tmp_path), "--bootstrap-samples",
                 "5"])
    assert code == 0, capsys.readouterr().err
    assert "td spearman" in capsys.readouterr().out
    assert (tmp_path / "study" / "candidates.csv").exists()
    assert (tmp_path / "study" / "plots" / "scatter.png").exists()
    assert main(["select", "--pool", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert "not a candidate pool" in capsys.readouterr().err


def test_select_mhealth_prints_one_json_object(capsys, monkeypatch):
    import functools

    from rl_unplugged.selection import mhealth

    # Tiny sizes: the command builds the paper's defaults, patched smaller here.
    monkeypatch.setattr(mhealth, "MHealthTask", functools.partial(
        mhealth.MHealthTask, train_trajectories=4, valid_trajectories=2, length=6,
        burn_in=3, eval_horizon=5))
    monkeypatch.setattr(mhealth, "CandidateGrid", functools.partial(
        mhealth.CandidateGrid, lspi_degrees=(1,), lspi_lambdas=(0.0, 1.0), tree_mtry=(1,),
        tree_min_node_size=(5,), tree_iterations=2, trees=2, emsbe_degrees=(1,)))
    code = main(["select", "mhealth", "--seeds", "1", "--json", "--criteria", "td",
                 "--rollouts", "20", "--bootstrap-samples", "5"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"]["name"] == "mhealth" and out["candidates"] == 4
    assert set(out["spearman"]) == {"td"}
    assert main(["select", "mhealth", "--x", "0.6"]) == 2
    assert "only the toy environment has the parameter x" in capsys.readouterr().err

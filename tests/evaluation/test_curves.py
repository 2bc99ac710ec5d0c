"""Learning curves: each (run, checkpoint, member) evaluated under the protocol, resumably."""

import json

import numpy as np
import pytest

from rl_unplugged import agents, registry, training
from rl_unplugged.errors import ConfigError, IncompatibleError, NotFoundError
from rl_unplugged.evaluation import curves, evaluator, protocols
from rl_unplugged.evaluation.protocols import ProtocolViolation
from tests.training.helpers import random_transitions

DATASET = "rlu_bsuite/catch_noise0_run0"


def _train(out_dir, agent, data_seed=0, seeds=(0, 1), grid=None):
    task = registry.get_task("bsuite/catch")
    training.train(agent, random_transitions(task, 64, seed=data_seed), task, steps=4,
                   log_every=2, seeds=seeds, grid=grid, probe_every=None, checkpoint_every=2,
                   out_dir=out_dir, config=agents.make_config(agent, hidden=(8,), batch_size=8),
                   dataset=DATASET, make_plots=False)
    return out_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A BC and a DQN run (two members, checkpoints at 2 and 4) on the same data."""
    root = tmp_path_factory.mktemp("curve_runs")
    return [_train(root / "bc", "bc"), _train(root / "dqn", "dqn")]


def _protocol(n=3):
    return protocols.make_protocol(protocols.settings("bsuite/catch", num_episodes=n),
                                   {"random": {"value": -1.0}, "expert": {"value": 1.0}})


def test_every_pair_is_the_in_process_evaluation(runs, tmp_path):
    p = _protocol()
    lines = []
    curve = curves.evaluate_runs(runs, p, tmp_path, num_envs=2, progress=lines.append)
    assert len(lines) == 2 * 2 * 2 and (tmp_path / curves.CURVE_FILE).exists()
    assert json.loads((tmp_path / curves.CURVE_FILE).read_text()) == curve
    assert set(curve["runs"]) == {"bc", "dqn"} and curve["dataset"] == DATASET
    assert curve["selected"] == {"checkpoints": None, "members": None}
    for label, run_dir in zip(("bc", "dqn"), runs, strict=True):
        for step in (2, 4):
            row = curve["runs"][label]["checkpoints"][str(step)]
            means = []
            for member in (0, 1):
                policy = evaluator.load_run_policy(run_dir, member=member, checkpoint=step)
                direct = evaluator.evaluate(policy, p, datasets=[DATASET], num_envs=3)
                kept = evaluator.load_result(curves.result_path(tmp_path, label, step, member))
                assert kept["returns"] == direct["returns"]
                assert kept["training_run"] == direct["training_run"]
                assert kept["training_run"]["checkpoint_sha256"]
                assert kept["datasets"] == {DATASET: None}  # The run's own, by default.
                assert kept["policy_source"] == f"run_dir:{run_dir} member={member} " \
                                                f"checkpoint={step}"
                means.append(direct["mean_return"])
            assert [s["mean_return"] for s in row["per_seed"]] == means
            assert [s["seed"] for s in row["per_seed"]] == [0, 1]
            assert row["mean"] == pytest.approx(np.mean(means))
            assert row["std"] == pytest.approx(np.std(means))
            assert row["normalised_mean"] == pytest.approx((np.mean(means) + 1.0) / 2.0)


def test_a_curve_resumes_and_refuses_a_record_of_another_pair(runs, tmp_path, monkeypatch):
    p = _protocol()
    first = curves.evaluate_runs(runs[:1], p, tmp_path, checkpoints=[2], num_envs=2)
    assert first["selected"] == {"checkpoints": [2], "members": None}
    calls = []
    real = evaluator.evaluate
    monkeypatch.setattr(evaluator, "evaluate", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = curves.evaluate_runs(runs[:1], p, tmp_path, num_envs=2)
    assert len(calls) == 2  # Only checkpoint 4's two members were new.
    assert again["runs"]["bc"]["checkpoints"]["2"] == first["runs"]["bc"]["checkpoints"]["2"]
    path = curves.result_path(tmp_path, "bc", 4, 1)
    good = path.read_text()
    for key, value in (("seed", 7), ("member", 0), ("checkpoint_sha256", "0" * 64),
                       ("run_dir", str(runs[1]))):
        record = json.loads(good)
        record["training_run"][key] = value
        path.write_text(json.dumps(record))
        with pytest.raises(ConfigError, match=f"'{key}': {value!r}"):
            curves.evaluate_runs(runs[:1], p, tmp_path, num_envs=2)
        with pytest.raises(ConfigError, match=f"'{key}': {value!r}"):
            curves.summarise(runs[:1], p, tmp_path)  # Never summarised either.
    # A record of other protocol settings is refused, not overwritten.
    curves.evaluate_runs(runs[:1], _protocol(n=4), tmp_path / "other", num_envs=2)
    path.write_text(curves.result_path(tmp_path / "other", "bc", 4, 1).read_text())
    with pytest.raises(ConfigError, match="settings"):
        curves.evaluate_runs(runs[:1], p, tmp_path, num_envs=2)
    path.write_text(good)
    calls.clear()
    # The same run named by a relative path resumes too.
    monkeypatch.chdir(runs[0].parent)
    assert curves.evaluate_runs(["bc"], p, tmp_path, num_envs=2)["runs"] == again["runs"]
    assert calls == []


def test_records_are_kept_as_they_are_made(runs, tmp_path, monkeypatch):
    p = _protocol()
    real, calls = evaluator.evaluate, []

    def fails_third(*a, **k):
        calls.append(a)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(evaluator, "evaluate", fails_third)
    with pytest.raises(KeyboardInterrupt):
        curves.evaluate_runs(runs[:1], p, tmp_path, num_envs=2)
    assert len(list((tmp_path / "bc").glob("step*.json"))) == 2  # Not lost with the rest.


def test_a_retrained_run_is_evaluated_anew(tmp_path):
    p = _protocol()
    run = _train(tmp_path / "bc", "bc", seeds=(0,))
    curves.evaluate_runs([run], p, tmp_path / "out", checkpoints=[4], num_envs=2)
    import shutil
    shutil.rmtree(run)
    task = registry.get_task("bsuite/catch")  # Same path, seed and data; another config.
    training.train("bc", random_transitions(task, 64), task, steps=4, log_every=2, seeds=(0,),
                   probe_every=None, checkpoint_every=2, out_dir=run,
                   config=agents.make_config("bc", hidden=(16,), batch_size=8),
                   dataset=DATASET, make_plots=False)
    with pytest.raises(ConfigError, match="checkpoint_sha256"):
        curves.evaluate_runs([run], p, tmp_path / "out", checkpoints=[4], num_envs=2)


def test_a_fan_out_gets_every_missing_candidate_at_once(runs, tmp_path):
    p = _protocol()
    seen = []

    def evaluate_many(candidates, datasets):
        seen.append(list(candidates))
        return [evaluator.evaluate(evaluator.load_run_policy(
            c["run_dir"], member=c["member"], checkpoint=c["checkpoint"]), p,
            datasets=datasets, num_envs=2) for c in candidates]

    fanned = curves.evaluate_runs(runs, p, tmp_path / "fan", evaluate_many=evaluate_many)
    assert len(seen) == 1 and len(seen[0]) == 8

    def swapped(candidates, datasets):  # A fan-out that lost the candidates' order.
        return evaluate_many(candidates, datasets)[::-1]
    with pytest.raises(ConfigError, match="not of"):
        curves.evaluate_runs(runs, p, tmp_path / "swapped", evaluate_many=swapped)
    with pytest.raises(ProtocolViolation, match="rlu_bsuite/cartpole"):
        curves.evaluate_runs(runs, p, tmp_path / "bad_data", evaluate_many=evaluate_many,
                             datasets={"rlu_bsuite/cartpole_noise0_run0": None})
    assert len(seen) == 2  # The dataset was refused before any fan-out.
    direct = curves.evaluate_runs(runs, p, tmp_path / "direct", num_envs=3)
    assert ({k: r["checkpoints"] for k, r in fanned["runs"].items()}
            == {k: r["checkpoints"] for k, r in direct["runs"].items()})


def test_grid_points_are_series_and_only_seeds_are_averaged(tmp_path):
    p = _protocol()
    run = _train(tmp_path / "cql", "cql", grid={"alpha": [0.5, 2.0]})
    curve = curves.evaluate_runs([run], p, tmp_path / "out", checkpoints=[4], num_envs=2)
    assert set(curve["runs"]) == {"cql alpha=0.5", "cql alpha=2.0"}
    policy_members = training.list_members(run)
    for series in curve["runs"].values():
        alpha = series["grid"]["alpha"]
        assert series["config"]["alpha"] == alpha
        seeds = series["checkpoints"]["4"]["per_seed"]
        want = [m for m in policy_members if m["grid"]["alpha"] == alpha]
        assert [(s["member"], s["seed"]) for s in seeds] == [(m["member"], m["seed"])
                                                            for m in want]
        assert [s["seed"] for s in seeds] == [0, 1]
    assert len(policy_members) == 4


def test_bad_requests_are_named(runs, tmp_path):
    p = _protocol()
    with pytest.raises(NotFoundError, match=r"no checkpoint at step\(s\) \[3\]"):
        curves.evaluate_runs(runs, p, tmp_path, checkpoints=[2, 3])
    with pytest.raises(ConfigError, match=r"no member\(s\) \[2\]"):
        curves.evaluate_runs(runs, p, tmp_path, members=[2])
    with pytest.raises(NotFoundError, match="not a run directory"):
        curves.evaluate_runs([tmp_path], p, tmp_path)
    with pytest.raises(ConfigError, match=r"directories named \['bc'\]"):
        curves.evaluate_runs([runs[0], runs[0]], p, tmp_path)
    with pytest.raises(ConfigError, match="empty list"):
        curves.evaluate_runs(runs, p, tmp_path, checkpoints=[])
    with pytest.raises(ConfigError, match="empty list"):
        curves.evaluate_runs(runs, p, tmp_path, members=[])
    other = _train(tmp_path / "bc_other_data", "bc", data_seed=1, seeds=(0,))
    with pytest.raises(IncompatibleError, match="different data"):
        curves.evaluate_runs([runs[0], other], p, tmp_path)
    acrobot = protocols.get_protocol("classic/acrobot")
    with pytest.raises(IncompatibleError, match="bsuite/catch"):
        curves.evaluate_runs(runs[:1], acrobot, tmp_path)
    assert not list(tmp_path.glob("*/step*.json"))  # Nothing evaluated before the checks.
    with pytest.raises(NotFoundError, match="not evaluated yet"):
        curves.summarise(runs[:1], p, tmp_path)


def test_rlu_curve_writes_records_a_curve_and_a_plot(runs, tmp_path, capsys):
    from rl_unplugged.cli import main

    out = tmp_path / "curve"
    assert main(["curve", "--task", "bsuite/catch", "--run-dir", str(runs[0]),
                 "--run-dir", str(runs[1]), "--checkpoints", "4", "--members", "0",
                 "--num-envs", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    curve = json.loads((out / curves.CURVE_FILE).read_text())
    assert curve["protocol"]["hash"] == protocols.get_protocol("bsuite/catch").hash
    assert list(curve["runs"]["dqn"]["checkpoints"]) == ["4"]
    assert (out / curves.PLOT_FILE).stat().st_size > 0
    assert "bc" in printed and "dqn" in printed and "wrote" in printed
    assert main(["curve", "--task", "bsuite/catch", "--run-dir", str(runs[0]),
                 "--checkpoints", "two", "--out", str(out)]) == 2
    assert "--checkpoints" in capsys.readouterr().err

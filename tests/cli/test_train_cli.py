"""`rlu train` on a tiny raw log written under tmp_path."""

import json

import numpy as np
import pytest

from rl_unplugged import envs, paths, registry
from rl_unplugged.cli import main
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import RawLogWriter

SPEC = registry.get_dataset("rlu_bsuite/catch_random_run0")


def write_random_log(root, episodes=6, generation=None):
    env = envs.make(SPEC.task)
    rng = np.random.default_rng(0)
    w = RawLogWriter.open(paths.raw_dir(SPEC, root), dataset=SPEC.name,
                          observation_shape=SPEC.task.observation.shape,
                          observation_dtype="float32",
                          generation=generation or {"test": True})
    for i in range(episodes):
        obs, acts, rews = [env.reset(seed=i)], [], []
        while True:
            a = int(rng.integers(SPEC.task.num_actions))
            ts = env.step(a)
            obs.append(ts.observation)
            acts.append(a)
            rews.append(ts.reward)
            if ts.last:
                break
        w.add(Episode.from_rollout(observations=np.stack(obs), actions=np.array(acts),
                                   rewards=np.array(rews), terminated=ts.terminated,
                                   metadata={F.EPISODE_ID: i}))
    w.finalize()


def test_rlu_train_writes_a_run(tmp_path, capsys):
    write_random_log(tmp_path / "data")
    out = tmp_path / "run"
    rc = main(["train", "cql", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
               "--steps", "6", "--seeds", "2", "--grid", "alpha=1,4", "--set", "hidden=8,8",
               "--set", "batch_size=4", "--out", str(out), "--log-every", "3",
               "--probe-every", "3", "--checkpoint-every", "3", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["members"] == 4
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == SPEC.name and config["config"]["hidden"] == [8, 8]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2 * 4
    assert (out / "plots" / "probes.png").exists()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step_000000003.msgpack", "step_000000006.msgpack"]


def test_rlu_train_bad_input(tmp_path, capsys):
    assert main(["train", "sac", "--dataset", SPEC.name, "--steps", "1", "--out",
                 str(tmp_path)]) == 2
    assert "valid: bc, dqn" in capsys.readouterr().err
    assert main(["train", "dqn", "--dataset", SPEC.name, "--steps", "1", "--set", "alpha=1",
                 "--out", str(tmp_path)]) == 2
    assert "unknown hyperparameter 'alpha'" in capsys.readouterr().err
    assert main(["train", "dqn", "--dataset", "rlu_bsuite/catch_nois0_run0", "--steps", "1",
                 "--out", str(tmp_path)]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(["train", "dqn", "--dataset", SPEC.name, "--data-dir", str(tmp_path),
                 "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    assert "rlu datasets build" in capsys.readouterr().err
    # A continuous learner on a discrete dataset: refused before the (missing) data are
    # read, naming the dataset, the task and both action kinds.
    assert main(["train", "td3_bc", "--dataset", SPEC.name, "--data-dir", str(tmp_path),
                 "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert ("td3_bc learns continuous actions but rlu_bsuite/catch_random_run0 (task "
            "bsuite/catch) has discrete") in err and "rlu datasets build" not in err


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("rlu: error: ") and len(err.splitlines()) == 1, err
    return err


def test_grid_and_set_values_are_parsed_to_the_field_type(tmp_path, capsys):
    base = ["train", "cql", "--dataset", SPEC.name, "--data-dir", str(tmp_path), "--steps", "1",
            "--out", str(tmp_path / "run")]
    assert main([*base, "--grid", "alpha=a,b"]) == 2
    assert "--grid alpha=a: alpha must be a number" in _one_line_error(capsys)
    for bad in ("nan", "inf", "abc"):
        assert main([*base, "--set", f"learning_rate={bad}"]) == 2
        err = _one_line_error(capsys)
        assert f"--set learning_rate={bad}: learning_rate must be a" in err
    assert main([*base, "--set", "batch_size=2.5"]) == 2
    assert "batch_size must be an integer" in _one_line_error(capsys)
    assert main([*base, "--set", "learning_rate=-1"]) == 2  # The config's own check.
    assert "learning_rate must be > 0, got -1.0" in _one_line_error(capsys)
    assert main([*base, "--grid", "alpha=1,-2"]) == 2  # A grid point's config check.
    assert "alpha must be >= 0, got -2.0" in _one_line_error(capsys)
    assert main([*base, "--grid", "hidden=8,16"]) == 2
    assert "cannot vary inside one vmapped ensemble" in _one_line_error(capsys)
    # Valid values reach the data check (no data under tmp_path).
    assert main([*base, "--grid", "alpha=0.5,4", "--set", "discount=none"]) == 2
    assert "rlu datasets build" in _one_line_error(capsys)


def test_parse_helpers_follow_the_config_field_types():
    from rl_unplugged.agents.cql.config import CQLConfig
    from rl_unplugged.cli.train import parse_grid, parse_overrides

    assert parse_overrides(["hidden=64,64", "alpha=4", "discount=None", "base=qrdqn"],
                           CQLConfig) == {"hidden": (64, 64), "alpha": 4.0, "discount": None,
                                          "base": "qrdqn"}
    assert parse_grid(["alpha=0.5,1", "target_update_period=10,20"], CQLConfig) == {
        "alpha": [0.5, 1.0], "target_update_period": [10, 20]}


def test_a_finished_run_prints_valid_json(tmp_path, capsys):
    write_random_log(tmp_path / "data")
    args = ["train", "bc", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
            "--steps", "4", "--set", "hidden=8", "--set", "batch_size=4", "--out",
            str(tmp_path / "run"), "--log-every", "2", "--probe-every", "0", "--no-progress"]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(args) == 0  # Resumed at its last checkpoint: nothing left to do.
    line = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert summary["updates_per_s_per_member"] is None
    assert set(summary["final_loss"]) == {"0"}


def test_a_tiny_build_is_not_used_for_the_full_dataset(tmp_path, capsys):
    from rl_unplugged.cli.datasets import check_log_size

    write_random_log(tmp_path / "data", generation={"num_steps": 50})
    assert main(["train", "bc", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
                 "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    err = _one_line_error(capsys)
    assert "holds a tiny build of rlu_bsuite/catch_random_run0 (50 transitions" in err
    assert "pass --num-steps 50" in err
    check_log_size(SPEC, tmp_path / "data", 50)  # Asked for: accepted.
    check_log_size(SPEC, tmp_path / "data", 40)


def _strict(text):
    def refuse(name):
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_rlu_train_of_one_chunk_prints_no_nan(tmp_path, capsys):
    # One jitted chunk leaves no steady-state rate to report: null, never a bare NaN.
    write_random_log(tmp_path / "data")
    rc = main(["train", "bc", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
               "--steps", "2", "--set", "hidden=8,8", "--set", "batch_size=4", "--out",
               str(tmp_path / "run"), "--log-every", "2", "--probe-every", "0", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    summary = _strict(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["updates_per_s_per_member"] is None and summary["members"] == 1


def test_rlu_train_batch_larger_than_data_is_one_line(tmp_path, capsys):
    write_random_log(tmp_path / "data")  # 6 Catch episodes: 54 transitions.
    rc = main(["train", "bc", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
               "--steps", "2", "--set", "batch_size=100", "--out", str(tmp_path / "run"),
               "--log-every", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "batch_size 100" in err and "54 transitions" in err
    assert not (tmp_path / "run").exists()  # Refused before the run directory is made.

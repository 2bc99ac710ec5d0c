"""`rlu train` on a tiny raw log written under tmp_path."""

import json

import numpy as np

from rl_unplugged import envs, paths, registry
from rl_unplugged.cli import main
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import RawLogWriter

SPEC = registry.get_dataset("rlu_bsuite/catch_random_run0")


def write_random_log(root, episodes=6):
    env = envs.make(SPEC.task)
    rng = np.random.default_rng(0)
    w = RawLogWriter.open(paths.raw_dir(SPEC, root), dataset=SPEC.name,
                          observation_shape=SPEC.task.observation.shape,
                          observation_dtype="float32", generation={"test": True})
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

import os
from pathlib import Path

import numpy as np
import pytest

import rl_unplugged
from rl_unplugged.data.raw_log import CorruptLogError, LogLockedError, RawLog, RawLogWriter
from tests.data.test_episode_and_transitions import make_episode


def open_writer(path):
    return RawLogWriter.open(path, dataset="rlu_test/x", observation_shape=(2,),
                             observation_dtype="float32", generation={"seed": 1})


def test_write_read_round_trip(tmp_path):
    w = open_writer(tmp_path)
    eps = [make_episode(i, 2 + i % 3, i % 2 == 0) for i in range(7)]
    for i, ep in enumerate(eps):
        w.add(ep)
        if i % 3 == 2:
            w.commit({"i": np.array(i)})
    w.finalize({"note": 1})
    log = RawLog(tmp_path)
    assert log.num_episodes == 7 and len(log.manifest["shards"]) == 3
    for a, b in zip(eps, log.iter_episodes(), strict=True):
        for k in a.steps:
            np.testing.assert_array_equal(a.steps[k], b.steps[k])
        assert a.metadata == b.metadata
    assert not list(tmp_path.glob("resume-*"))


def test_uncommitted_work_is_discarded_on_reopen(tmp_path):
    w = open_writer(tmp_path)
    w.add(make_episode(0, 2, True))
    w.commit({"where": np.array(1)})
    w.add(make_episode(1, 2, True))  # Never committed: "crash".
    (tmp_path / "shard-00001.steps.parquet").write_bytes(b"half a shard")
    w.close()  # The crashed process's lock is gone with it.
    w2 = open_writer(tmp_path)
    assert w2.num_episodes == 1 and w2.resume_state()["where"] == 1
    assert not (tmp_path / "shard-00001.steps.parquet").exists()
    with pytest.raises(CorruptLogError, match="did not finish"):
        RawLog(tmp_path)


def test_corrupted_shard_names_the_file(tmp_path):
    w = open_writer(tmp_path)
    w.add(make_episode(0, 2, True))
    w.finalize()
    shard = tmp_path / "shard-00000.steps.parquet"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(CorruptLogError, match="shard-00000.steps.parquet"):
        RawLog(tmp_path)


def test_reopening_with_another_config_is_refused(tmp_path):
    with open_writer(tmp_path) as w:
        w.commit()
    with pytest.raises(ValueError, match="another generation config"):
        RawLogWriter.open(tmp_path, dataset="rlu_test/x", observation_shape=(2,),
                          observation_dtype="float32", generation={"seed": 2})


def test_out_of_order_episode_is_refused(tmp_path):
    w = open_writer(tmp_path)
    with pytest.raises(ValueError, match="out of order"):
        w.add(make_episode(3, 2, True))


def test_one_writer_at_a_time_across_processes(tmp_path):
    import subprocess
    import sys

    w = open_writer(tmp_path)
    with pytest.raises(LogLockedError, match="another writer"):
        open_writer(tmp_path)
    code = ("import sys; from tests.data.test_raw_log import open_writer; "
            "from rl_unplugged.data.raw_log import LogLockedError\n"
            "try:\n    open_writer(sys.argv[1])\nexcept LogLockedError:\n    sys.exit(3)")
    root = Path(rl_unplugged.__file__).parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env,
                          cwd=root).returncode == 3
    w.close()
    open_writer(tmp_path).close()  # Free again; the lock file is not mistaken for debris.
    assert (tmp_path / ".lock").exists()


def test_discrete_log_bytes_are_unchanged(tmp_path):
    """A discrete log's manifest digest (covering every shard's SHA-256), recorded with the
    writer as it was before continuous actions were added."""
    import hashlib

    from rl_unplugged.data import fields as F
    from rl_unplugged.data.episode import Episode

    w = RawLogWriter.open(tmp_path, dataset="rlu_test/x", observation_shape=(3,),
                          observation_dtype="float32", generation={"seed": 1})
    rng = np.random.default_rng(7)
    for i in range(6):
        n = 2 + i
        w.add(Episode.from_rollout(
            observations=rng.normal(size=(n + 1, 3)).astype(np.float32),
            actions=rng.integers(4, size=n).astype(np.int64),
            rewards=rng.normal(size=n).astype(np.float32), terminated=i % 2 == 0,
            extras={F.ACTION_REPLACED: rng.random(n) < 0.3,
                    F.GREEDY_ACTION: rng.integers(4, size=n)},
            metadata={F.EPISODE_ID: i, F.RUN: 0, F.CHECKPOINT: i // 2, F.NOISE: 0.1}))
        if i % 3 == 2:
            w.commit()
    w.finalize({"episode_return_mean": 1.5})
    digest = hashlib.sha256((tmp_path / "manifest.json").read_bytes()).hexdigest()
    assert digest == "53055013050459c383303d277c10912220eb5750c9ff00dbe611de6a6da8fe87"


def test_continuous_action_vectors_round_trip(tmp_path):
    from rl_unplugged.data import fields as F
    from rl_unplugged.data.episode import Episode

    w = open_writer(tmp_path)
    rng = np.random.default_rng(0)
    eps = [Episode.from_rollout(observations=rng.normal(size=(n + 1, 2)).astype(np.float32),
                                actions=rng.uniform(-1, 1, size=(n, 3)), rewards=np.ones(n),
                                terminated=False, metadata={F.EPISODE_ID: i})
           for i, n in enumerate([2, 4, 1])]
    for ep in eps:
        w.add(ep)
    w.finalize()
    read = list(RawLog(tmp_path).iter_episodes())
    for a, b in zip(eps, read, strict=True):
        assert b.steps[F.ACTION].shape == a.steps[F.ACTION].shape
        assert b.steps[F.ACTION].dtype == np.float32
        np.testing.assert_array_equal(a.steps[F.ACTION], b.steps[F.ACTION])

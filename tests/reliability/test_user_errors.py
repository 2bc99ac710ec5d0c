"""Library errors caused by input, data or the environment are `UserError`s (one line in the
CLI), keeping their builtin bases; the baselines evaluate through the run/task check."""

from __future__ import annotations

import errno
import os
import types

import pytest

from rl_unplugged import agents, fileio
from rl_unplugged.errors import (
    ConfigError,
    DiskFullError,
    IncompatibleError,
    UnknownNameError,
    UserError,
)


def test_unknown_agents_and_hyperparameters_are_unknown_names():
    with pytest.raises(UnknownNameError, match="unknown algorithm 'dqx'.*dqn") as info:
        agents.get_agent("dqx")
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownNameError, match="unknown hyperparameter 'alpha' for bc"):
        agents.make_config("bc", alpha=1.0)


def test_a_raw_log_of_another_dataset_is_incompatible(tmp_path):
    from rl_unplugged.data.raw_log import RawLogWriter

    def open_(dataset):
        return RawLogWriter.open(tmp_path, dataset=dataset, observation_shape=(1,),
                                 observation_dtype="float32", generation={})

    with open_("a") as writer:
        writer.commit()
    with pytest.raises(IncompatibleError, match=f"{tmp_path} holds a log of a") as info:
        open_("b")
    assert isinstance(info.value, ValueError)


def test_an_impossible_behaviour_config_is_a_config_error(tmp_path):
    from rl_unplugged import generation
    from tests.generation.helpers import tiny_spec, tiny_task

    spec = tiny_spec(task=tiny_task(min_replay_size=1000, replay_capacity=300))
    with pytest.raises(ConfigError, match="min_replay_size"):
        generation.generate(spec, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_policy_returning_bad_actions_is_incompatible():
    import numpy as np

    from rl_unplugged.evaluation import evaluator

    def floats(obs):
        return np.zeros(len(obs), np.float32)

    with pytest.raises(IncompatibleError, match="float32 actions; expected integers"):
        evaluator.run_episodes(floats, "bsuite/catch", seeds=[0])
    with pytest.raises(ConfigError, match="epsilon"):
        evaluator.run_episodes(floats, "bsuite/catch", seeds=[0], epsilon=2.0)


def test_appends_that_find_the_disk_full_name_the_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with pytest.raises(DiskFullError, match=f"{path}: cannot write \\(No space left"):
        with fileio.write_errors_named(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(OSError) as info:  # Other errors are not a full disk: unchanged.
        with fileio.write_errors_named(path):
            raise OSError(errno.EIO, "I/O error")
    assert not isinstance(info.value, UserError) and info.value.errno == errno.EIO


def test_results_of_another_protocol_version_are_incompatible():
    from rl_unplugged.evaluation import evaluator, protocols
    from rl_unplugged.leaderboard import board

    protocol = protocols.get_protocol("bsuite/catch")
    lo, _ = protocol.feasible_return_range
    record = {"format": evaluator.RESULT_FORMAT, "task": protocol.task_id,
              "protocol": {"hash": "0" * 64, "settings_hash": protocol.settings_hash},
              "episode_seeds": protocol.episode_seeds,
              "returns": [float(lo)] * protocol.num_episodes,
              "selection": {"method": "final"}}
    with pytest.raises(ValueError, match="evaluated under protocol 000000000000") as info:
        board.submission_from_results([record], track="bsuite/catch", name="x")
    assert isinstance(info.value, UserError)


def test_baselines_evaluate_through_the_run_task_check(tmp_path, monkeypatch):
    """`baselines.run` loads each member with `evaluator.load_run_policy(protocol=...)`, so
    a run that does not match its task is refused before it is played."""
    from rl_unplugged import baselines, training
    from rl_unplugged.data import loader
    from rl_unplugged.evaluation import evaluator, protocols

    calls = []

    class Refused(IncompatibleError):
        pass

    def load_run_policy(run_dir, member=0, checkpoint=None, *, protocol=None):
        calls.append((run_dir.name, member, protocol.task_id if protocol else None))
        raise Refused(f"run {run_dir} was trained on another task")

    monkeypatch.setattr(loader, "load_transitions", lambda *a, **k: types.SimpleNamespace(size=1))
    monkeypatch.setattr(training, "train", lambda *a, **k: None)
    monkeypatch.setattr(training, "list_members",
                        lambda run_dir: [{"member": 0, "seed": 0, "grid": {}}])
    monkeypatch.setattr(evaluator, "load_run_policy", load_run_policy)
    cfg = baselines.BaselineConfig(name="x", agent="bc", track="bsuite/catch", steps=1,
                                   datasets={"bsuite/catch": "rlu_bsuite/catch_noise0_run0"},
                                   seeds=(0,))
    with pytest.raises(Refused):
        baselines.run(cfg, tmp_path)
    assert calls == [("bsuite-catch", 0, protocols.get_protocol("bsuite/catch").task_id)]

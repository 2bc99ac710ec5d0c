"""Tiny generation specs and raw-log comparison shared by the generation tests."""

from __future__ import annotations

import dataclasses

import numpy as np

from rl_unplugged import registry
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.specs import DatasetSpec


def tiny_task(task_id: str = "bsuite/catch", **changes):
    """A registered task with a small, fast behaviour DQN."""
    task = registry.get_task(task_id)
    behaviour = dict(num_steps=600, hidden=(16,), batch_size=8, replay_capacity=300,
                     min_replay_size=50, update_period=4, target_update_period=25,
                     epsilon_decay_steps=300, checkpoint_every_episodes=15)
    behaviour.update(changes)
    return dataclasses.replace(task, behaviour=dataclasses.replace(task.behaviour, **behaviour))


def tiny_spec(level: str = "replay", noise: float = 0.0, num_steps: int = 600,
              task=None) -> DatasetSpec:
    return DatasetSpec(task=task or tiny_task(), level=level, noise=noise, run=0,
                       num_steps=num_steps)


def columns(log: RawLog) -> dict[str, np.ndarray]:
    """All step columns of a log, concatenated over shards."""
    parts = [log.shard_columns(i) for i in range(len(log.manifest["shards"]))]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def assert_same_data(a: RawLog, b: RawLog) -> None:
    """Equal step columns, episode metadata and checkpoints (bit for bit)."""
    ca, cb = columns(a), columns(b)
    assert ca.keys() == cb.keys()
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k], err_msg=k)
    ea, eb = a.episodes_table(), b.episodes_table()
    assert ea.keys() == eb.keys()
    for k in ea:
        np.testing.assert_array_equal(ea[k], eb[k], err_msg=k)
    strip = lambda c: {k: v for k, v in c.items() if k != "file"}
    assert [strip(c) for c in a.manifest["checkpoints"]] == \
        [strip(c) for c in b.manifest["checkpoints"]]
    assert a.manifest["summary"] == b.manifest["summary"]

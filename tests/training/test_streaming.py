"""Streamed minibatches from memory-mapped columns give the on-device run's numbers."""

import jax
import numpy as np
import pytest

from rl_unplugged import errors, registry, training
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.training import streaming
from tests.training.helpers import random_transitions

TASK = registry.get_task("classic/cartpole")
KW = {"config": {"hidden": (16, 16), "batch_size": 8, "target_update_period": 3},
      "steps": 7, "log_every": 3, "probe_every": 3, "checkpoint_every": None, "probe_size": 32,
      "make_plots": False}


def mmapped(data: Transitions, directory) -> Transitions:
    """`data` as read-only memory-mapped .npy columns (as `Store.transitions(mmap=True)`)."""
    columns = []
    for name, column in zip(data._fields, data, strict=True):
        if column is None:
            columns.append(None)
            continue
        np.save(directory / f"{name}.npy", column)
        columns.append(np.load(directory / f"{name}.npy", mmap_mode="r"))
    return Transitions(*columns)


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


def strip(rows):
    return [{k: v for k, v in r.items() if k != "updates_per_s"} for r in rows]


@pytest.mark.parametrize("settings", [streaming.Streaming(block=2, prefetch=2, workers=2),
                                      streaming.Streaming(block=5, prefetch=1, workers=1)])
def test_streamed_run_equals_the_on_device_run(tmp_path, settings):
    data = random_transitions(TASK)
    host = mmapped(data, tmp_path)
    assert isinstance(host.observation, np.memmap)
    on_device = training.train("cql", data, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                               **KW)
    streamed = training.train("cql", host, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                              stream=settings, **KW)
    for a, b in zip(leaves(on_device.state), leaves(streamed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert strip(streamed.metrics) == strip(on_device.metrics)
    assert [r["step"] for r in streamed.metrics][::4] == [3, 6, 7]
    assert streamed.probes == on_device.probes


def test_streamed_run_resumes_bit_identical(tmp_path):
    data = random_transitions(TASK)
    host = mmapped(data, tmp_path)
    full = training.train("dqn", data, TASK, seeds=(3,), **KW)
    training.train("dqn", host, TASK, seeds=(3,), out_dir=tmp_path / "run", stream=True,
                   **{**KW, "steps": 3, "checkpoint_every": 3})
    resumed = training.train("dqn", host, TASK, seeds=(3,), out_dir=tmp_path / "run",
                             stream=True, **{**KW, "steps": 7, "checkpoint_every": 3})
    assert resumed.metrics[0]["step"] == 3  # Continued from the checkpoint at update 3.
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_host_draw_is_the_device_samplers_draw():
    keys = jax.numpy.stack([jax.random.PRNGKey(4), jax.random.PRNGKey(9)])
    idx = streaming._draw(keys, jax.numpy.arange(5, 7, dtype=jax.numpy.int32), batch_size=3,
                          size=11)
    expected = jax.random.randint(jax.random.fold_in(keys[1], 6), (3,), 0, 11)
    assert idx.shape == (2, 2, 3)
    np.testing.assert_array_equal(idx[1, 1], expected)


def test_bad_streaming_settings_are_refused():
    with pytest.raises(errors.ConfigError, match="block"):
        streaming.Streaming(block=0)

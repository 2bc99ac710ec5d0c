"""The training loop: determinism, kill-and-resume, NaN stops, bad input, artefacts."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from rl_unplugged import agents, checkpointing, errors, registry, training
from rl_unplugged.specs import ActionSpec
from tests.training.helpers import random_transitions

TASK = registry.get_task("classic/cartpole")
CONFIG = {"hidden": (16, 16), "batch_size": 8, "target_update_period": 3}
KW = {"config": CONFIG, "steps": 8, "log_every": 2, "probe_every": 4, "checkpoint_every": 4,
      "probe_size": 32, "make_plots": False}


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


def test_killed_run_resumes_bit_identical_and_seeds_reproduce(tmp_path, monkeypatch):
    data = random_transitions(TASK)
    full = training.train("cql", data, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                          out_dir=tmp_path / "full", **KW)
    again = training.train("cql", data, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                           **{**KW, "checkpoint_every": None})
    for a, b in zip(leaves(full.state), leaves(again.state), strict=True):
        np.testing.assert_array_equal(a, b)  # Same seed, same numbers (with or without out_dir).

    save = checkpointing.save

    def save_then_die(run_dir, step, state):
        save(run_dir, step, state)
        if step == 4:
            raise KeyboardInterrupt  # Killed right after the mid-run checkpoint.

    monkeypatch.setattr(checkpointing, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        training.train("cql", data, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                       out_dir=tmp_path / "killed", **KW)
    monkeypatch.setattr(checkpointing, "save", save)
    assert training.list_checkpoints(tmp_path / "killed") == [4]
    resumed = training.train("cql", data, TASK, seeds=(0, 1), grid={"alpha": [0.5, 2.0]},
                             out_dir=tmp_path / "killed", **KW)
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "updates_per_s"} for r in rows]
    assert strip(resumed.metrics) == strip(full.metrics)
    assert resumed.probes == full.probes
    assert int(full.state.step[0]) == 8 and len(full.members) == 4
    assert [m["grid"]["alpha"] for m in training.list_members(tmp_path / "full")] == [
        0.5, 2.0, 0.5, 2.0]

    other = training.train("cql", data, TASK, seeds=(5,), **{**KW, "checkpoint_every": None})
    assert not np.array_equal(leaves(other.state.params)[0], leaves(full.state.params)[0][0])


def test_nan_loss_stops_with_step_and_last_finite_metrics(tmp_path):
    data = random_transitions(TASK)
    # A few finite but huge rewards (NaN data is refused before training): the squared TD
    # error of a batch that hits one overflows to inf.
    data.reward[::40] = 3e38
    with pytest.raises(training.NonFiniteLossError, match="non-finite"):
        training.train("dqn", data, TASK, out_dir=tmp_path, **{**KW, "steps": 40})
    failure = json.loads((tmp_path / "failure.json").read_text())
    assert failure["step"] >= 1 and "loss" in failure["non_finite"]
    if failure["step"] > 1:
        last = failure["last_finite_metrics"]
        assert last["step"] == failure["step"] - 1 and np.isfinite(last["loss"])
    log = tmp_path / "metrics.jsonl"
    logged = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    assert all(r["step"] < failure["step"] for r in logged)


def test_bad_input_is_named():
    data = random_transitions(TASK)
    with pytest.raises(KeyError, match="valid: bc, dqn, qrdqn, cql"):
        training.train("cq", data, TASK, steps=1)
    with pytest.raises(KeyError, match="unknown hyperparameter 'alhpa'.*alpha"):
        training.train("cql", data, TASK, steps=1, config={"alhpa": 1})
    with pytest.raises(KeyError, match="unknown hyperparameter 'alpha' for dqn"):
        training.train("dqn", data, TASK, steps=1, grid={"alpha": [1, 2]})
    with pytest.raises(ValueError, match="cannot vary"):
        training.train("dqn", data, TASK, steps=1, grid={"hidden": [(8,), (16,)]})
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        training.train("cql", data, TASK, steps=1, grid={"alpha": [1, -1]})
    replace = data._replace
    continuous = replace(action=np.random.default_rng(0).normal(size=(data.size, 2)))
    with pytest.raises(ValueError, match="continuous actions"):
        training.train("bc", continuous, TASK, steps=1)
    with pytest.raises(ValueError, match=r"actions span \[0, 6\]"):
        training.train("bc", replace(action=data.action * 6), TASK, steps=1)
    with pytest.raises(ValueError, match="multiple of log_every"):
        training.train("bc", data, TASK, steps=4, log_every=3, probe_every=4)


def test_run_directory_artefacts_and_changed_config_refused(tmp_path):
    data = random_transitions(TASK)
    result = training.train("qrdqn", data, TASK, out_dir=tmp_path,
                            **{**KW, "config": {**CONFIG, "num_atoms": 3}, "make_plots": True})
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["agent"] == "qrdqn" and config["config"]["discount"] == TASK.gamma
    assert config["config"]["num_atoms"] == 3 and config["data"]["num_transitions"] == 256
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "losses.png", "probes.png", "q_values.png"]
    assert training.list_checkpoints(tmp_path) == [4, 8]
    assert [r["step"] for r in result.probes] == [0, 4, 8]
    assert {"srank", "erank", "feature_rank", "dr3", "dormant_0.1_layer1"} <= set(
        result.probes[0])
    with pytest.raises(ValueError, match="different run"):
        training.train("qrdqn", data, TASK, out_dir=tmp_path,
                       **{**KW, "config": {**CONFIG, "num_atoms": 5}})


def _strict_json(text):
    def refuse(name):
        raise ValueError(f"bare {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_batch_larger_than_the_dataset_is_refused_naming_both(tmp_path):
    data = random_transitions(TASK, num=20)
    with pytest.raises(errors.ConfigError, match=r"batch_size 32 .* 20 transitions"):
        training.train("bc", data, TASK, steps=2, log_every=2, config={"batch_size": 32},
                       out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # Refused before the run directory is made.
    training.train("bc", data, TASK, steps=2, log_every=2, probe_every=None,
                   config={"hidden": (8,), "batch_size": 20})  # Equal is fine.


def test_one_chunk_run_records_no_nan(tmp_path):
    data = random_transitions(TASK)
    result = training.train("dqn", data, TASK, out_dir=tmp_path, **{**KW, "steps": 2})
    assert result.updates_per_s is None  # No steady-state timing after one chunk.
    _strict_json((tmp_path / "config.json").read_text())
    for path in tmp_path.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            _strict_json(line)
    json.dumps(result.metrics + result.probes, allow_nan=False)
    longer = training.train("dqn", data, TASK, **{**KW, "steps": 6, "checkpoint_every": None})
    assert longer.updates_per_s > 0


CONTINUOUS = dataclasses.replace(TASK, num_actions=None,
                                 action=ActionSpec.continuous((-1.0, -2.0), (1.0, 2.0)))


def test_check_transitions_uses_the_action_spec():
    data = random_transitions(TASK)
    floats = np.clip(np.random.default_rng(0).normal(size=(data.size, 2)), -1, 1)
    continuous = data._replace(action=floats.astype(np.float32))
    training.check_transitions(data, TASK)
    training.check_transitions(continuous, CONTINUOUS)
    # The reverse kinds: the message names both.
    with pytest.raises(errors.IncompatibleError, match="discrete.*continuous"):
        training.check_transitions(continuous, TASK, agents.get_agent("bc"))
    with pytest.raises(errors.IncompatibleError, match="continuous.*discrete"):
        training.check_transitions(data, CONTINUOUS)
    with pytest.raises(errors.IncompatibleError, match=r"shape \(N, 2\)"):
        training.check_transitions(continuous._replace(action=floats[:, :1]), CONTINUOUS)
    with pytest.raises(errors.IncompatibleError, match="dimension 1 .* bounds"):
        training.check_transitions(continuous._replace(action=floats * [1, 3]), CONTINUOUS)
    with pytest.raises(errors.IncompatibleError, match=r"actions span \[0, 2\]"):
        training.check_transitions(data._replace(action=data.action * 2), TASK)
    # NaN compares false, so a bounds check alone lets it through: named by column and row.
    for column in ("observation", "next_observation", "reward", "discount", "action"):
        base = continuous if column == "action" else data
        values = np.array(getattr(base, column), np.float32)
        values.reshape(len(values), -1)[3, 0] = np.nan
        with pytest.raises(errors.CorruptDataError,
                           match=f"^{column} is not finite .* 1 of {data.size} .* row 3$"):
            training.check_transitions(base._replace(**{column: values}),
                                       CONTINUOUS if column == "action" else TASK)


def test_a_discrete_learner_refuses_a_continuous_task_and_the_reverse():
    data = random_transitions(TASK)
    with pytest.raises(errors.IncompatibleError, match="bc learns discrete actions but "
                                                       "classic/cartpole has continuous"):
        training.train("bc", data, CONTINUOUS, steps=2)
    spec = dataclasses.replace(agents.get_agent("bc"), name="bc_c", action_kind="continuous")
    with pytest.raises(errors.IncompatibleError, match="continuous actions but .* discrete"):
        training.train(spec, data, TASK, steps=2)
    with pytest.raises(errors.ConfigError, match="action_kind"):
        dataclasses.replace(spec, action_kind="hybrid")
    # Given the dataset, the message names it beside the task and both kinds.
    with pytest.raises(errors.IncompatibleError, match=r"bc learns discrete actions but "
                       r"rlu_x/pendulum_run0 \(task classic/cartpole\) has continuous"):
        training.train("bc", data, CONTINUOUS, steps=2, dataset="rlu_x/pendulum_run0")

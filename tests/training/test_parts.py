"""The training loop's parts: fit with injected loggers/callbacks/checkpointer, RunDir, logs."""

import json

import jax
import numpy as np
import pytest

from rl_unplugged import errors, registry, training
from rl_unplugged.training import loop
from rl_unplugged.training.run_dir import IDENTITY
from tests.training.helpers import random_transitions

TASK = registry.get_task("classic/cartpole")
CONFIG = {"hidden": (16, 16), "batch_size": 8, "target_update_period": 3}


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


class Rows:
    """A list-collecting logger: any object with write(rows) and close() is a Logger."""

    def __init__(self):
        self.rows, self.closed = [], False

    def write(self, rows):
        self.rows.extend(rows)

    def close(self):
        self.closed = True


class Recorder:
    """A callback that records when it is called and what it sees."""

    def __init__(self):
        self.calls, self.losses = [], []

    def on_start(self, step, states):
        self.calls.append(("start", step, int(states.step[0])))

    def on_chunk(self, step, states, metrics):
        self.calls.append(("chunk", step, int(states.step[0]), metrics["loss"].shape))
        self.losses.append(metrics["loss"])

    def on_end(self, step, states):
        self.calls.append(("end", step, int(states.step[0])))


def test_fit_feeds_any_logger_and_callback_and_matches_train():
    data = random_transitions(TASK)
    rows, recorder = Rows(), Recorder()
    assert isinstance(rows, training.Logger) and isinstance(recorder, training.Callback)
    plan = training.Plan.make("dqn", TASK, steps=5, config=CONFIG, seeds=(0, 1), log_every=2)
    result = training.fit(plan, data, loggers=[rows], callbacks=[recorder])
    assert recorder.calls == [("start", 0, 0), ("chunk", 2, 2, (2, 2)), ("chunk", 4, 4, (2, 2)),
                              ("chunk", 5, 5, (1, 2)), ("end", 5, 5)]
    assert [(r["step"], r["member"]) for r in rows.rows] == [
        (2, 0), (2, 1), (4, 0), (4, 1), (5, 0), (5, 1)]
    # A row holds the mean of its chunk's metrics for its member.
    assert rows.rows[3]["loss"] == float(recorder.losses[1][:, 1].mean())
    assert rows.rows == result.metrics and not rows.closed  # Its maker closes a logger.
    assert result.start == 0 and result.updates_per_s > 0

    extra = Rows()
    trained = training.train("dqn", data, TASK, steps=5, config=CONFIG, seeds=(0, 1),
                             log_every=2, probe_every=None, loggers=[extra])
    for a, b in zip(leaves(result.state), leaves(trained.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert extra.rows == trained.metrics


def test_fit_dispatches_the_next_chunk_before_the_callbacks_of_this_one(monkeypatch):
    # Pipelining: chunk k+1 is on the device while chunk k's logs, callbacks and
    # checkpoint run on the host; same calls on the same states, so the same numbers.
    data = random_transitions(TASK)
    events = []
    real = loop._chunk_fn

    def recording_chunk_fn(learner, length, mesh=None, **kw):
        fn = real(learner, length, mesh, **kw)

        def chunk(states, keys, batch):
            events.append(("dispatch", int(states.step[0]), length))
            return fn(states, keys, batch)
        return chunk

    class Order(Recorder):
        def on_chunk(self, step, states, metrics):
            events.append(("on_chunk", step))

    monkeypatch.setattr(loop, "_chunk_fn", recording_chunk_fn)
    plan = training.Plan.make("dqn", TASK, steps=5, config=CONFIG, seeds=(0, 1), log_every=2)
    piped = training.fit(plan, data, callbacks=[Order()])
    assert events == [("dispatch", 0, 2), ("dispatch", 2, 2), ("on_chunk", 2),
                      ("dispatch", 4, 1), ("on_chunk", 4), ("on_chunk", 5)]
    monkeypatch.setattr(loop, "_chunk_fn", real)
    plain = training.fit(plan, data)
    for a, b in zip(leaves(piped.state), leaves(plain.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [r["loss"] for r in piped.metrics] == [r["loss"] for r in plain.metrics]


def test_fit_resumes_through_its_checkpointer_bit_identically(tmp_path):
    data = random_transitions(TASK)
    make = lambda steps: training.Plan.make("cql", TASK, steps=steps, config=CONFIG,
                                            grid={"alpha": [0.5, 2.0]}, log_every=2)
    whole = training.fit(make(6), data)
    first = training.fit(make(4), data, checkpointer=training.Checkpointer(tmp_path, every=2))
    assert first.start == 0 and training.list_checkpoints(tmp_path) == [2, 4]
    probes = Rows()
    rest = training.fit(make(6), data, checkpointer=training.Checkpointer(tmp_path),
                        callbacks=[training.RepresentationProbes(make(6).learner, data, every=2,
                                                                 size=16, loggers=[probes])])
    assert rest.start == 4 and [r["step"] for r in rest.metrics] == [6, 6]
    assert [r["step"] for r in probes.rows] == [6, 6]  # No probe at 0 for a resumed run.
    assert rest.updates_per_s is None  # One chunk: no steady-state rate.
    for a, b in zip(leaves(whole.state), leaves(rest.state), strict=True):
        np.testing.assert_array_equal(a, b)
    fresh = training.Checkpointer(tmp_path, resume=False)
    assert fresh.restore("template") == (0, "template") and fresh.latest() == 6


def test_checkpointer_schedule():
    every4, final_only = training.Checkpointer("run", every=4), training.Checkpointer("run")
    assert [s for s in range(1, 11) if every4.due(s, final=s == 10)] == [4, 8, 10]
    assert [s for s in range(1, 11) if final_only.due(s, final=s == 10)] == [10]
    with pytest.raises(errors.ConfigError, match="checkpoint_every must be > 0"):
        training.Checkpointer("run", every=0)


def test_fit_stops_on_non_finite_metrics_with_a_failure_record():
    data = random_transitions(TASK)
    data.reward[::40] = 3e38  # Finite (NaN data is refused up front); its TD error overflows.
    plan = training.Plan.make("dqn", TASK, steps=40, config=CONFIG, log_every=2)
    with pytest.raises(training.NonFiniteLossError, match="non-finite") as caught:
        training.fit(plan, data)
    failure = caught.value.failure
    assert "loss" in failure["non_finite"] and failure["last_checkpoint"] is None
    assert failure["member"] == 0 and 1 <= failure["step"] <= 40


def test_run_dir_identity_resume_point_and_failure(tmp_path):
    header = {**{k: 1 for k in IDENTITY}, "steps": 4, "note": "not part of the identity"}
    run = training.RunDir(tmp_path / "run")
    assert run.read_config() is None and run.open(header) == 0
    assert json.loads(run.config_path.read_text()) == header
    run.write_failure({"step": 3})
    assert run.open({**header, "steps": 8, "note": "changed"}) == 0  # Extending is fine.
    assert not run.failure_path.exists()
    with pytest.raises(errors.IncompatibleError, match=r"different run \(differs in \['grid'\]"):
        run.open({**header, "grid": 2})

    training.Checkpointer(run.path).save(4, {"x": np.zeros(2)})
    run.metrics.write([{"step": s, "member": 0, "loss": 1.0} for s in (2, 4, 6)])
    run.probes.write([{"step": s, "member": 0, "srank": 3.0} for s in (0, 4, 6)])
    with pytest.raises(errors.ConfigError, match="already holds a run"):
        run.open(header, resume=False)
    assert run.open(header, resume=True) == 4
    assert [r["step"] for r in run.metrics.read()] == [2, 4]  # Cut back to the checkpoint.
    assert [r["step"] for r in run.probes.read()] == [0, 4]


def test_jsonl_list_and_progress_loggers(tmp_path):
    log = training.JsonlLogger(tmp_path / "m.jsonl")
    log.write([{"step": 1, "member": 0, "loss": float("nan"), "x": np.float32(0.5)}])
    log.write([{"step": 2, "member": 0, "loss": float("inf"), "x": 1}])
    assert (tmp_path / "m.jsonl").read_text().splitlines() == [
        '{"step": 1, "member": 0, "loss": "nan", "x": 0.5}',
        '{"step": 2, "member": 0, "loss": "inf", "x": 1}']
    log.truncate_after(1)
    assert [r["step"] for r in log.read()] == [1]
    memory = training.ListLogger()
    memory.write([{"step": 1}])
    assert memory.rows == [{"step": 1}]
    bar = training.ProgressLogger(10, initial=2, desc="test")
    bar.write([{"step": 4, "member": 0, "loss": 1.0}, {"step": 4, "member": 1, "loss": 3.0}])
    assert bar.bar.n == 4 and "loss=2" in str(bar.bar)
    bar.close()
    assert all(isinstance(x, training.Logger) for x in (log, memory, bar))


def test_runs_of_one_learner_share_one_compilation():
    a = training.Plan.make("dqn", TASK, steps=4, config=CONFIG, seeds=(0,), log_every=2)
    b = training.Plan.make("dqn", TASK, steps=8, config=CONFIG, seeds=(3, 4), log_every=2)
    c = training.Plan.make("dqn", TASK, steps=8, config={**CONFIG, "hidden": (8,)})
    assert loop._chunk_fn(a.learner, 2) is loop._chunk_fn(b.learner, 2)
    assert loop._chunk_fn(a.learner, 2) is not loop._chunk_fn(c.learner, 2)
    assert loop._chunk_fn(a.learner, 2) is not loop._chunk_fn(a.learner, 1)

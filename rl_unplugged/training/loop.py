"""The one training loop for every offline learner.

The dataset lives in device memory; each jitted call samples minibatches inside jit
and runs K = `log_every` updates of every ensemble member, fused with `lax.scan`
over a `vmap` of (sample, update) (`_scan_updates`, the hot path; a one-member run
maps the update unbatched, `ensemble.map_members`). Between calls the
loop checks the metrics for NaN/inf, hands one row per member to its loggers, runs
its callbacks (representation probes, ...) and asks its checkpointer whether to save.

The parts, each replaceable:
  `Plan`: what to train (agent, resolved config, ensemble members, steps).
  `fit(plan, data, loggers=, callbacks=, checkpointer=)`: the loop itself.
  `train(...)`: the suite's default assembly of `fit` (a `RunDir` with config.json,
    JSONL logs, probes, checkpoints, plots and a progress bar), used by `rlu train`.

Minibatch indices come from `fold_in(sample_key, state.step)`, a pure function of
the member's seed and step, so a run resumed from a checkpoint sees the same
batches as an uninterrupted one (and ends bit-identical on CPU).

With several devices, the members are sharded over them (`training.sharding`: a
1-d mesh over `jax.devices()`, members along the 'members' axis, the dataset
replicated; `shard=False` opts out); every member's numbers are the unsharded
run's. Multi-host: call `jax.distributed.initialize()` in every process first, then
the same `train` call; the mesh then spans all hosts' devices (see
`training.sharding`). One device (the default on CPU) runs the path above unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from rl_unplugged import agents as agents_lib
from rl_unplugged import compile_cache
from rl_unplugged.agents import (
    AgentSpec,
    Batch,
    Learner,
    LearnerConfig,
    TrainingState,
    actor_critic,
)
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import TaskSpec
from rl_unplugged.training import ensemble, plots, sharding, streaming
from rl_unplugged.training.callbacks import Callback, RepresentationProbes
from rl_unplugged.training.checkpointer import Checkpointer
from rl_unplugged.training.inputs import (
    check_action_kind,
    check_transitions,
    fingerprint,
    to_batch,
)
from rl_unplugged.training.logs import ListLogger, Logger, ProgressLogger, member_rows
from rl_unplugged.training.run_dir import CONFIG_FILE, FAILURE_FILE, RunDir

__all__ = ["CONFIG_FILE", "FAILURE_FILE", "FitResult", "NonFiniteLossError", "Plan",
           "TrainResult", "check_action_kind", "check_transitions", "fit", "train"]


class NonFiniteLossError(FloatingPointError):
    """A metric became NaN/inf; training stopped. `failure` says where (failure.json)."""

    def __init__(self, message: str, failure: dict[str, Any]):
        super().__init__(message)
        self.failure = failure


@dataclasses.dataclass
class FitResult:
    """What `fit` returns."""

    state: TrainingState  # Leading axis: ensemble members.
    members: list[ensemble.Member]
    metrics: list[dict[str, Any]]  # The rows this call logged (from `start` on).
    start: int  # The update training started (or resumed) from.
    # Updates per second of each member (x len(members) for the aggregate), wall clock
    # after the first jitted call, callbacks, logging and checkpoints included; None
    # when the call ran fewer than two chunks.
    updates_per_s: float | None


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the final stacked state and the logged rows."""

    state: TrainingState  # Leading axis: ensemble members.
    members: list[ensemble.Member]
    metrics: list[dict[str, Any]]
    probes: list[dict[str, Any]]
    run_dir: Path | None
    updates_per_s: float | None  # As in `FitResult`.


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """What to train: an agent's resolved config, its ensemble members and the steps.

    Build it with `Plan.make`, which validates everything that does not need data.
    """

    spec: AgentSpec
    task: TaskSpec
    learner: Learner
    seeds: tuple[int, ...]
    grid: dict[str, list[Any]]
    members: list[ensemble.Member]
    steps: int  # Updates per member.
    log_every: int  # Updates fused per jitted call; logged metrics are their mean.

    @classmethod
    def make(cls, agent: str | AgentSpec, task: TaskSpec, *, steps: int,
             config: LearnerConfig | Mapping[str, Any] | None = None,
             seeds: Sequence[int] = (0,), grid: Mapping[str, Sequence[Any]] | None = None,
             log_every: int = 1_000, data: Transitions | None = None,
             dataset: str | None = None) -> Plan:
        """Resolves and validates a plan (see `train` for the other arguments).

        `data`, when given, is checked (`check`) and fills what the config takes from
        the dataset (`ContinuousConfig.with_data_statistics`): the observation
        statistics of a config that normalises observations (TD3+BC's default) and IQL's
        reward scale with `normalize_rewards`, saved with the run. `dataset`, the data's name,
        is named in an action-kind refusal.

        Raises:
          KeyError: unknown algorithm or hyperparameter (lists the valid ones).
          ConfigError: invalid settings (or data, see `check`).
          IncompatibleError: the agent learns another action kind than the task has, or
            the data does not fit (see `check`).
        """
        spec = agents_lib.get_agent(agent) if isinstance(agent, str) else agent
        if config is None or isinstance(config, Mapping):
            config = agents_lib.make_config(spec, **dict(config or {}))
        grid = {k: list(v) for k, v in (grid or {}).items()}
        ensemble.validate_grid(spec, config, grid)
        if steps <= 0 or log_every <= 0:
            raise ConfigError(f"steps ({steps}) and log_every ({log_every}) must be > 0")
        check_action_kind(spec, task, dataset)  # Before the learner builds a network.
        if data is not None:
            check_transitions(data, task, spec)  # Before statistics are taken from it.
        if (isinstance(config, actor_critic.ContinuousConfig)
                and config.needs_data_statistics()):
            if data is None:
                raise ConfigError(f"{spec.name} takes settings from the dataset's statistics "
                                  "(observation normalisation, IQL's reward scale): pass "
                                  "data= to Plan.make (training.train does), or set them "
                                  "(observation_mean/observation_std, reward_scale)")
            config = config.with_data_statistics(data)
        learner = agents_lib.make_learner(spec, task, config)
        members = ensemble.make_members(learner.config, seeds, grid)  # Resolved config.
        plan = cls(spec=spec, task=task, learner=learner, seeds=tuple(int(s) for s in seeds),
                   grid=grid, members=members, steps=steps, log_every=log_every)
        if data is not None:
            plan._check_batch_size(data)
        return plan

    @property
    def config(self) -> LearnerConfig:
        return self.learner.config

    def check(self, data: Transitions) -> None:
        """Raises if `data` does not fit the task and agent, or holds fewer rows than a batch.

        Raises:
          IncompatibleError: see `check_transitions`.
          ConfigError: an empty dataset, or `batch_size` > the number of transitions
            (minibatches are drawn with replacement, so every batch would repeat rows).
        """
        check_transitions(data, self.task, self.spec)
        self._check_batch_size(data)

    def _check_batch_size(self, data: Transitions) -> None:
        if self.config.batch_size > data.size:
            raise ConfigError(f"batch_size {self.config.batch_size} is larger than the "
                              f"dataset's {data.size} transitions; use a batch_size <= "
                              f"{data.size} or more data")


def _scan_updates(states: TrainingState, sample_keys: jax.Array, data: Batch, *,
                  learner: Learner, length: int, single: bool = False
                  ) -> tuple[TrainingState, dict[str, jax.Array]]:
    """`length` fused updates of every member: metrics (length, N) per name.

    single: the run has one member (`ensemble.map_members`).
    """
    step = ensemble.map_members(member_step(learner, data), single)
    return jax.lax.scan(lambda carry, _: step(carry, sample_keys), states, None,
                        length=length)


def member_step(learner: Learner, data: Batch) -> Callable:
    """One member's step of the loop: f(state, sample_key) -> (state, metrics), a
    minibatch drawn inside jit (with replacement, keyed by the member's key and step)."""
    size = data.reward.shape[0]
    batch_size = learner.config.batch_size

    def step(state: TrainingState, sample_key: jax.Array):
        idx = streaming.minibatch_indices(sample_key, state.step, batch_size=batch_size,
                                          size=size)
        return learner.update(state, jax.tree.map(lambda x: x[idx], data))

    return step


def _jitted(kind: Any, learner: Learner, build: Callable[[], Callable]) -> Callable:
    # Keyed by what decides the trace: runs of the same learner in one process
    # (ensembles over seeds, resumed runs, tests, notebooks) share one compilation.
    return compile_cache.cached(("training", kind, learner.name, learner.config, learner.task),
                                build)


def _init_fn(learner: Learner) -> Callable:
    return _jitted("init", learner, lambda: jax.jit(jax.vmap(learner.init)))


def _chunk_fn(learner: Learner, length: int, mesh: Mesh | None = None, *,
              single: bool = False) -> Callable:
    fn = _jitted(("scan", length, single), learner, lambda: jax.jit(
        functools.partial(_scan_updates, learner=learner, length=length, single=single)))
    return fn if mesh is None else functools.partial(sharding.run_chunk, fn, mesh)


class _FiniteGuard:
    """Finds the first non-finite metric of a chunk; remembers each member's last finite row."""

    def __init__(self, num_members: int):
        self.last_finite: list[dict[str, Any]] = [{} for _ in range(num_members)]

    def check(self, step: int, metrics: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
        """The failure record of a chunk starting at `step`, or None if all is finite."""
        finite = np.all([np.isfinite(v) for v in metrics.values()], axis=0)  # (K, N)
        if finite.all():
            for m in range(len(self.last_finite)):
                self.last_finite[m] = {"step": step + finite.shape[0],
                                       **{k: float(v[-1, m]) for k, v in metrics.items()}}
            return None
        k, member = (int(i[0]) for i in np.nonzero(~finite))
        if k > 0:
            self.last_finite[member] = {"step": step + k,
                                        **{n: float(v[k - 1, member]) for n, v in metrics.items()}}
        bad = sorted(n for n, v in metrics.items() if not np.isfinite(v[k, member]))
        return {"step": step + k + 1, "member": member, "non_finite": bad,
                "last_finite_metrics": self.last_finite[member]}


def fit(plan: Plan, data: Transitions, *, loggers: Sequence[Logger] = (),
        callbacks: Sequence[Callback] = (), checkpointer: Checkpointer | None = None,
        shard: bool = True, stream: bool | streaming.Streaming = False) -> FitResult:
    """Trains `plan`'s ensemble on `data`: the loop with its parts injected.

    Every `plan.log_every` updates, one row per member (the chunk's mean metrics, the
    step and `updates_per_s`, wall time between two chunks' syncs) goes to each logger,
    then each callback's `on_chunk` runs, then the checkpointer saves if `due`; the next
    chunk is already dispatched by then, so this host work overlaps its device work.
    Loggers are written to, never closed (their maker closes them).

    Args:
      plan: what to train (`Plan.make`).
      data: the dataset's transitions (resident on device for the whole run).
      loggers: receive the metric rows (any object with `write(rows)` and `close()`).
      callbacks: hooks around the jitted core (`on_start`, `on_chunk`, `on_end`).
      checkpointer: restores the starting state before the first chunk and saves
        when due; None keeps everything in memory.
      shard: split the members over all devices (`training.sharding`: a 1-d mesh,
        the dataset replicated; same numbers as one device). No effect with one
        device or one member.
      stream: keep `data` on the host (memory-mapped columns work) and stream
        minibatches to the device (`training.streaming`; True: default `Streaming`
        settings); same numbers as the on-device run. Streamed runs are not sharded.

    Raises:
      IncompatibleError, ConfigError: data that does not fit the plan (`Plan.check`).
      NonFiniteLossError: a metric became non-finite; its `failure` names the update,
        member and metrics, the last finite metrics and the last checkpoint.
    """
    plan.check(data)
    learner, members = plan.learner, plan.members
    states = _init_fn(learner)(ensemble.member_keys(members, 0),
                               ensemble.stacked_hparams(members))
    sample_keys = ensemble.member_keys(members, 1)
    start = 0
    if checkpointer is not None:
        start, states = checkpointer.restore(states)
    streamer = None
    if stream:
        streamer = streaming.Streamer(
            learner, plan.task, data, sample_keys,
            stream if isinstance(stream, streaming.Streaming) else streaming.Streaming())
        device_data = None
    else:
        device_data = to_batch(data, plan.task)
    mesh = sharding.member_mesh(len(members)) if shard and streamer is None else None
    if mesh is not None:
        states, sample_keys = sharding.place((states, sample_keys), mesh)
        device_data = sharding.place(device_data, mesh, replicated=True)
    # Sharded: loggers, callbacks and checkpoints see every member (on every host).
    to_host = sharding.to_host if mesh is not None else jax.device_get

    def visible(states: TrainingState) -> TrainingState:
        return states if mesh is None else sharding.gather(states, mesh)

    for callback in callbacks:
        callback.on_start(start, visible(states))

    single = len(members) == 1
    full_chunk = _chunk_fn(learner, plan.log_every, mesh, single=single)
    guard = _FiniteGuard(len(members))
    metric_rows: list[dict[str, Any]] = []
    step = start
    timed_updates, timed_seconds = 0, 0.0
    timed_start: tuple[int, float] | None = None
    if streamer is not None:
        streamer.start(start, plan.steps, plan.log_every)

    def dispatch(states: TrainingState, step: int):
        """Starts the chunk after `step` (asynchronous on device; the streamer's is not)."""
        length = min(plan.log_every, plan.steps - step)
        if streamer is not None:
            return length, streamer.run(states, step, length)
        chunk = (full_chunk if length == plan.log_every
                 else _chunk_fn(learner, length, mesh, single=single))
        return length, chunk(states, sample_keys, device_data)

    # Pipelined: the next chunk is dispatched as soon as this one's metrics are checked,
    # so its device work overlaps this chunk's logs, callbacks and checkpoint (same
    # numbers: the chunks are the same calls on the same states, in the same order).
    pending = dispatch(states, step) if step < plan.steps else None
    t0 = time.perf_counter()
    try:
        while pending is not None:
            length, (new_states, metrics) = pending
            metrics = to_host(metrics)  # The chunk's one device sync.
            elapsed = time.perf_counter() - t0
            t0 = time.perf_counter()
            failure = guard.check(step, metrics)
            if failure is not None:
                failure["last_checkpoint"] = checkpointer.latest() if checkpointer else None
                raise NonFiniteLossError(
                    f"non-finite {', '.join(failure['non_finite'])} at update {failure['step']} "
                    f"of member {failure['member']}; last finite metrics: "
                    f"{failure['last_finite_metrics']}", failure)
            states = new_states
            step += length
            if timed_start is None:  # The steady state starts after the compiling call.
                timed_start = (step, time.perf_counter())
            pending = dispatch(states, step) if step < plan.steps else None
            rows = member_rows(step, {k: v.mean(axis=0) for k, v in metrics.items()},
                               {"updates_per_s": length / elapsed})
            metric_rows.extend(rows)
            for logger in loggers:
                logger.write(rows)
            if callbacks:
                shown = visible(states)
                for callback in callbacks:
                    callback.on_chunk(step, shown, metrics)
            if checkpointer is not None and checkpointer.due(step, final=step == plan.steps):
                checkpointer.save(step, visible(states))
            # Steady-state rate: everything after the first (compiling) call, callbacks,
            # logs and checkpoints included.
            if step > timed_start[0]:
                timed_updates = step - timed_start[0]
                timed_seconds = time.perf_counter() - timed_start[1]
    finally:
        if streamer is not None:
            streamer.close()
    for callback in callbacks:
        callback.on_end(step, visible(states))
    rate = timed_updates / timed_seconds if timed_seconds else None
    return FitResult(state=states, members=list(members), metrics=metric_rows, start=start,
                     updates_per_s=rate)


def _config_dict(config: LearnerConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in
            dataclasses.asdict(config).items()}


def _header(plan: Plan, data: Transitions, *, dataset: str | None, probe_every: int | None,
            checkpoint_every: int | None, probe_size: int) -> dict[str, Any]:
    """The run's config.json."""
    return {"agent": plan.spec.name, "config": _config_dict(plan.config), "task": plan.task.id,
            "dataset": dataset, "seeds": list(plan.seeds), "grid": plan.grid,
            "members": [m.to_json() for m in plan.members], "steps": plan.steps,
            "log_every": plan.log_every, "probe_every": probe_every,
            "checkpoint_every": checkpoint_every, "probe_size": probe_size,
            "data": fingerprint(data), "jax_version": jax.__version__}


def train(agent: str | AgentSpec, data: Transitions, task: TaskSpec, *, steps: int,
          config: LearnerConfig | Mapping[str, Any] | None = None, seeds: Sequence[int] = (0,),
          grid: Mapping[str, Sequence[Any]] | None = None, out_dir: str | os.PathLike | None = None,
          dataset: str | None = None, log_every: int = 1_000, probe_every: int | None = 5_000,
          checkpoint_every: int | None = 10_000, probe_size: int = 2_048, resume: bool = True,
          make_plots: bool = True, progress: bool = False, loggers: Sequence[Logger] = (),
          callbacks: Sequence[Callback] = (), shard: bool = True,
          stream: bool | streaming.Streaming = False) -> TrainResult:
    """Trains an ensemble of offline learners on `data` (the suite's default parts).

    Assembles `fit` with a `RunDir` (config.json, resume, failure.json), JSONL logs
    of metrics and probes, `RepresentationProbes`, a `Checkpointer`, an optional
    progress bar and, at the end, plots.

    Args:
      agent: a registered algorithm name ('bc', 'dqn', 'qrdqn', 'cql', 'cql_qrdqn', or
        one added with `agents.register_agent`) or its `AgentSpec`.
      data: the dataset's transitions (resident on device for the whole run).
      task: the task the data was logged on (observation shape, actions, gamma).
      steps: updates per member.
      config: the agent's config, or overrides of its defaults.
      seeds: one member per seed and grid point.
      grid: hyperparameter values to sweep inside the vmapped ensemble, e.g.
        {"alpha": [0.5, 1, 4]}; only the config's traced fields (`TRACED`).
      out_dir: run directory for config.json, metrics.jsonl, probes.jsonl,
        checkpoints/ and plots/; None keeps everything in memory.
      dataset: dataset name recorded in config.json (for loaders of the run).
      log_every: updates fused per jitted call; metrics are their mean.
      probe_every: updates between probes (a multiple of log_every); None: never.
      checkpoint_every: updates between checkpoints (a multiple of log_every); None:
        only at the end. Needs out_dir.
      probe_size: dataset states in the fixed probe batch.
      resume: continue from the latest checkpoint in out_dir if its config matches.
      make_plots: write PNG plots at the end.
      progress: show a tqdm progress bar (updates/s) on stderr.
      loggers: more loggers of the metric rows (besides metrics.jsonl).
      callbacks: more callbacks, run after the probes.
      shard: split the members over all local devices (see `fit`).
      stream: stream minibatches from host (e.g. memory-mapped) data (see `fit`).

    Raises:
      KeyError: unknown algorithm or hyperparameter (lists the valid ones).
      ValueError: invalid settings (`ConfigError`), data that does not fit the agent
        or an out_dir holding a different run (`IncompatibleError`).
      NonFiniteLossError: a metric became non-finite (failure.json names the step and
        holds the last finite metrics).
    """
    # With the data: checks it before the run directory is touched.
    plan = Plan.make(agent, task, steps=steps, config=config, seeds=seeds, grid=grid,
                     log_every=log_every, data=data, dataset=dataset)
    if probe_size <= 0:
        raise ConfigError(f"probe_size must be > 0, got {probe_size}")
    for name, every in (("probe_every", probe_every), ("checkpoint_every", checkpoint_every)):
        if every is not None and (every <= 0 or every % log_every):
            raise ConfigError(f"{name} ({every}) must be a positive multiple of log_every "
                              f"({log_every})")

    run = RunDir(out_dir) if out_dir is not None else None
    start = 0
    if run is not None:
        header = _header(plan, data, dataset=dataset, probe_every=probe_every,
                         checkpoint_every=checkpoint_every, probe_size=probe_size)
        start = run.open(header, resume=resume)
    in_memory = ListLogger()  # Probe rows of a run without a directory.
    probe_log: Logger = run.probes if run is not None else in_memory
    metric_loggers: list[Logger] = [run.metrics] if run is not None else []
    with contextlib.ExitStack() as stack:
        if progress:
            bar = ProgressLogger(steps, initial=start,
                                 desc=f"{plan.spec.name} x{len(plan.members)}")
            stack.callback(bar.close)
            metric_loggers.append(bar)
        probes = ([RepresentationProbes(plan.learner, data, every=probe_every, size=probe_size,
                                        loggers=[probe_log])] if probe_every is not None else [])
        # Restores only what `run.open` validated and cut the logs back to (start > 0).
        checkpointer = (Checkpointer(run.path, every=checkpoint_every, resume=start > 0)
                        if run is not None else None)
        try:
            result = fit(plan, data, loggers=[*metric_loggers, *loggers],
                         callbacks=[*probes, *callbacks], checkpointer=checkpointer,
                         shard=shard, stream=stream)
        except NonFiniteLossError as e:
            if run is not None:
                run.write_failure(e.failure)
            raise
    metric_rows, probe_rows = result.metrics, in_memory.rows
    if run is not None:
        metric_rows, probe_rows = run.metrics.read(), run.probes.read()
        if make_plots:
            plots.plot_run(run.path, metric_rows, probe_rows)
    return TrainResult(state=result.state, members=result.members, metrics=metric_rows,
                       probes=probe_rows, run_dir=run.path if run is not None else None,
                       updates_per_s=result.updates_per_s)

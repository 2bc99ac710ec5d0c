"""The one training loop for every offline learner.

The dataset lives in device memory; each jitted call samples minibatches inside jit
and runs K = `log_every` updates of every ensemble member, fused with `lax.scan`
over a `vmap` of (sample, update). Between calls the loop logs metrics, computes
representation probes every `probe_every` updates, checkpoints every
`checkpoint_every` updates and checks for non-finite metrics.

Minibatch indices come from `fold_in(sample_key, state.step)`, a pure function of
the member's seed and step, so a run resumed from a checkpoint sees the same
batches as an uninterrupted one (and ends bit-identical on CPU).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rl_unplugged import agents as agents_lib
from rl_unplugged import checkpointing, fileio
from rl_unplugged import probes as probes_lib
from rl_unplugged.agents import AgentSpec, Batch, Learner, LearnerConfig, TrainingState
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.specs import TaskSpec
from rl_unplugged.training import ensemble, logs, plots

CONFIG_FILE = "config.json"
FAILURE_FILE = "failure.json"
# config.json keys that must agree for a run directory to be resumed.
_IDENTITY = ("agent", "config", "task", "seeds", "grid", "log_every", "probe_every",
             "probe_size", "data")


class NonFiniteLossError(FloatingPointError):
    """A metric became NaN/inf; the run stopped and wrote failure.json."""


@dataclasses.dataclass
class TrainResult:
    """What `train` returns: the final stacked state and the logged rows."""

    state: TrainingState  # Leading axis: ensemble members.
    members: list[ensemble.Member]
    metrics: list[dict[str, Any]]
    probes: list[dict[str, Any]]
    run_dir: Path | None
    # Updates per second of each member (x len(members) for the aggregate), wall clock
    # after the first jitted call, probes, logging and checkpoints included; NaN when
    # the run had a single call.
    updates_per_s: float


def check_transitions(data: Transitions, task: TaskSpec) -> None:
    """Raises ValueError if `data` does not fit the discrete agents of `task`."""
    action = np.asarray(data.action)
    if data.size == 0:
        raise ValueError("the dataset holds no transitions")
    if action.ndim != 1 or not np.issubdtype(action.dtype, np.integer):
        raise ValueError(f"these agents need discrete actions of shape (N,) and integer dtype; "
                         f"the dataset's actions have shape {action.shape} and dtype "
                         f"{action.dtype} (continuous actions need a continuous agent)")
    lo, hi = int(action.min()), int(action.max())
    if lo < 0 or hi >= task.num_actions:
        raise ValueError(f"actions span [{lo}, {hi}] but {task.id} has {task.num_actions}")
    shape = tuple(data.observation.shape[1:])
    if shape != task.observation.shape or data.next_observation.shape != data.observation.shape:
        raise ValueError(f"observations have shape {shape}, {task.id} expects "
                         f"{task.observation.shape}")


def _fingerprint(data: Transitions) -> dict[str, Any]:
    h = hashlib.sha256()
    for column in (data.observation, data.action, data.reward, data.discount):
        h.update(np.ascontiguousarray(column).tobytes())
    return {"num_transitions": data.size, "sha256": h.hexdigest()[:16]}


def _to_batch(data: Transitions) -> Batch:
    return Batch(*(jnp.asarray(np.asarray(x)) for x in (
        data.observation, data.action.astype(np.int32), data.reward.astype(np.float32),
        data.discount.astype(np.float32), data.next_observation)))


def _scan_updates(states: TrainingState, sample_keys: jax.Array, data: Batch, *,
                  learner: Learner, length: int) -> tuple[TrainingState, dict[str, jax.Array]]:
    """`length` fused updates of every member: metrics (length, N) per name."""
    size = data.reward.shape[0]
    batch_size = learner.config.batch_size

    def one(state: TrainingState, sample_key: jax.Array):
        idx = jax.random.randint(jax.random.fold_in(sample_key, state.step), (batch_size,),
                                 0, size)
        return learner.update(state, jax.tree.map(lambda x: x[idx], data))

    def body(carry, _):
        return jax.vmap(one)(carry, sample_keys)

    return jax.lax.scan(body, states, None, length=length)


def _probe(states: TrainingState, obs: jax.Array, next_obs: jax.Array, *, learner: Learner
           ) -> dict[str, jax.Array]:
    def one(params):
        both = learner.network.apply(params, jnp.concatenate([obs, next_obs]))
        n = obs.shape[0]
        q = learner.q_values(params, obs)
        out = probes_lib.all_probes(both.representation[:n], both.representation[n:],
                                    [a[:n] for a in both.activations])
        return {**out, "probe_q_mean": jnp.mean(q), "probe_q_max": jnp.mean(q.max(-1))}

    return jax.vmap(one)(states.params)


# Jitted functions by (kind, agent, config, task): runs of the same learner in one
# process (ensembles over seeds, resumed runs, tests, notebooks) reuse one compilation.
_JITTED: dict[tuple, Any] = {}


def _compiled(kind, agent: str, config: LearnerConfig, task: TaskSpec, fn, learner: Learner):
    key = (kind, agent, config, task)
    if key not in _JITTED:
        _JITTED[key] = jax.jit(functools.partial(fn, learner=learner))
    return _JITTED[key]


def _rows(step: int, values: Mapping[str, np.ndarray], extra: dict | None = None) -> list[dict]:
    n = len(next(iter(values.values())))
    return [{"step": step, "member": m, **(extra or {}),
             **{k: float(v[m]) for k, v in values.items()}} for m in range(n)]


def _config_dict(config: LearnerConfig) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in
            dataclasses.asdict(config).items()}


def _write_json(path: Path, value: Any) -> None:
    fileio.write_json(path, value, indent=2)


def train(agent: str | AgentSpec, data: Transitions, task: TaskSpec, *, steps: int,
          config: LearnerConfig | Mapping[str, Any] | None = None, seeds: Sequence[int] = (0,),
          grid: Mapping[str, Sequence[Any]] | None = None, out_dir: str | os.PathLike | None = None,
          dataset: str | None = None, log_every: int = 1_000, probe_every: int | None = 5_000,
          checkpoint_every: int | None = 10_000, probe_size: int = 2_048, resume: bool = True,
          make_plots: bool = True, progress: bool = False) -> TrainResult:
    """Trains an ensemble of offline learners on `data`.

    Args:
      agent: a registered algorithm name ('bc', 'dqn', 'qrdqn', 'cql', 'cql_qrdqn').
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

    Raises:
      KeyError: unknown algorithm or hyperparameter (lists the valid ones).
      ValueError: invalid settings, data that does not fit the agent, or an out_dir
        holding a different run.
      NonFiniteLossError: a metric became non-finite (failure.json names the step and
        holds the last finite metrics).
    """
    spec = agents_lib.get_agent(agent) if isinstance(agent, str) else agent
    if config is None or isinstance(config, Mapping):
        config = agents_lib.make_config(spec, **dict(config or {}))
    grid = {k: list(v) for k, v in (grid or {}).items()}
    ensemble.validate_grid(spec, config, grid)
    if steps <= 0 or log_every <= 0 or probe_size <= 0:
        raise ValueError("steps, log_every and probe_size must be > 0")
    for name, every in (("probe_every", probe_every), ("checkpoint_every", checkpoint_every)):
        if every is not None and (every <= 0 or every % log_every):
            raise ValueError(f"{name} ({every}) must be a positive multiple of log_every "
                             f"({log_every})")
    check_transitions(data, task)

    learner = agents_lib.make_learner(spec, task, config)
    config = learner.config  # Resolved (e.g. discount from the task).
    members = ensemble.make_members(config, seeds, grid)
    n = len(members)

    run_dir = Path(out_dir) if out_dir is not None else None
    header = {"agent": spec.name, "config": _config_dict(config), "task": task.id,
              "dataset": dataset, "seeds": [int(s) for s in seeds], "grid": grid,
              "members": [m.to_json() for m in members], "steps": steps,
              "log_every": log_every, "probe_every": probe_every,
              "checkpoint_every": checkpoint_every, "probe_size": probe_size,
              "data": _fingerprint(data), "jax_version": jax.__version__}
    metrics_log = probes_log = None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        metrics_log = logs.JsonlLogger(run_dir / logs.METRICS_FILE)
        probes_log = logs.JsonlLogger(run_dir / logs.PROBES_FILE)

    init_fn = _compiled("init", spec.name, config, task,
                        lambda keys, hparams, learner: jax.vmap(learner.init)(keys, hparams),
                        learner)
    states = init_fn(ensemble.member_keys(members, 0), ensemble.stacked_hparams(members))
    sample_keys = ensemble.member_keys(members, 1)
    start = 0
    if run_dir is not None and (run_dir / CONFIG_FILE).exists():
        previous = json.loads((run_dir / CONFIG_FILE).read_text())
        changed = [k for k in _IDENTITY if previous.get(k) != json.loads(json.dumps(header[k]))]
        if changed:
            raise ValueError(f"{run_dir} holds a different run (differs in {changed}); "
                             f"use another --out or delete it")
        if resume and checkpointing.list_checkpoints(run_dir):
            start, states = checkpointing.restore(run_dir, states)
            metrics_log.truncate_after(start)
            probes_log.truncate_after(start)
        elif checkpointing.list_checkpoints(run_dir) or metrics_log.read():
            raise ValueError(f"{run_dir} already holds a run; pass resume=True or delete it")
    if run_dir is not None:
        (run_dir / FAILURE_FILE).unlink(missing_ok=True)
        _write_json(run_dir / CONFIG_FILE, header)

    device_data = _to_batch(data)
    rng = np.random.default_rng(0)  # The probe batch is a fixed function of the data.
    probe_idx = np.sort(rng.choice(data.size, size=min(probe_size, data.size), replace=False))
    probe_obs = device_data.observation[probe_idx]
    probe_next = device_data.next_observation[probe_idx]
    probe_fn = _compiled("probe", spec.name, config, task, _probe, learner)
    chunk_fn = lambda length: _compiled(("scan", length), spec.name, config, task,
                                        functools.partial(_scan_updates, length=length),
                                        learner)

    def run_probes(step: int) -> None:
        values = jax.device_get(probe_fn(states, probe_obs, probe_next))
        rows = _rows(step, values)
        probe_rows.extend(rows)
        if probes_log is not None:
            probes_log.write(rows)

    metric_rows: list[dict] = []
    probe_rows: list[dict] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start, unit="upd", unit_scale=True, dynamic_ncols=True,
                   desc=f"{spec.name} x{n}")
    if probe_every is not None and start == 0:
        run_probes(0)
    step = start
    last_finite: list[dict] = [{} for _ in range(n)]
    timed_updates, timed_seconds = 0, 0.0
    timed_start: tuple[int, float] | None = None
    try:
        while step < steps:
            length = min(log_every, steps - step)
            t0 = time.perf_counter()
            new_states, metrics = chunk_fn(length)(states, sample_keys, device_data)
            metrics = jax.device_get(metrics)
            elapsed = time.perf_counter() - t0
            finite = np.all([np.isfinite(v) for v in metrics.values()], axis=0)  # (K, N)
            if not finite.all():
                k, member = (int(i[0]) for i in np.nonzero(~finite))
                if k > 0:
                    last_finite[member] = {"step": step + k,
                                           **{n_: float(v[k - 1, member])
                                              for n_, v in metrics.items()}}
                bad = sorted(n_ for n_, v in metrics.items() if not np.isfinite(v[k, member]))
                saved = checkpointing.list_checkpoints(run_dir) if run_dir is not None else []
                failure = {"step": step + k + 1, "member": member, "non_finite": bad,
                           "last_finite_metrics": last_finite[member],
                           "last_checkpoint": saved[-1] if saved else None}
                if run_dir is not None:
                    _write_json(run_dir / FAILURE_FILE, failure)
                raise NonFiniteLossError(
                    f"non-finite {', '.join(bad)} at update {failure['step']} of member "
                    f"{member}; last finite metrics: {failure['last_finite_metrics']}")
            states = new_states
            step += length
            means = {k: v.mean(axis=0) for k, v in metrics.items()}
            rows = _rows(step, means, {"updates_per_s": length / elapsed})
            for m in range(n):
                last_finite[m] = {"step": step, **{k: float(v[-1, m]) for k, v in metrics.items()}}
            metric_rows.extend(rows)
            if metrics_log is not None:
                metrics_log.write(rows)
            if probe_every is not None and step % probe_every == 0:
                run_probes(step)
            if run_dir is not None and (step == steps or (checkpoint_every is not None
                                                          and step % checkpoint_every == 0)):
                checkpointing.save(run_dir, step, states)
            # Steady-state rate: everything after the first (compiling) call, probes,
            # logs and checkpoints included.
            if timed_start is None:
                timed_start = (step, time.perf_counter())
            else:
                timed_updates = step - timed_start[0]
                timed_seconds = time.perf_counter() - timed_start[1]
            if bar is not None:
                bar.update(length)
                bar.set_postfix(loss=f"{float(means['loss'].mean()):.4g}")
    finally:
        if bar is not None:
            bar.close()
    if run_dir is not None:
        if make_plots:
            plots.plot_run(run_dir, metrics_log.read(), probes_log.read())
        metric_rows, probe_rows = metrics_log.read(), probes_log.read()
    rate = timed_updates / timed_seconds if timed_seconds else float("nan")
    return TrainResult(state=states, members=members, metrics=metric_rows, probes=probe_rows,
                       run_dir=run_dir, updates_per_s=rate)

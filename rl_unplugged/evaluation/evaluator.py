"""Runs a policy under a protocol, batched across episodes, into a results record.

A policy is any callable `obs (B, *obs_shape) -> actions`: integers (B,) in
[0, num_actions) for discrete tasks, floats (B, A) clipped into the action bounds
for continuous ones, so external agents can be evaluated; `load_run_policy` adapts a
run directory of this suite's learners. The policy is called once per vector step
with a full (num_envs, *obs_shape) batch: rows of environments whose episodes have
finished (at the tail of an evaluation) hold their last observation and their actions
are ignored, so a jitted policy sees one batch shape and compiles once.

Episode i always runs from `protocol.episode_seeds[i]`, and evaluation-epsilon
actions come from `numpy.random.default_rng(episode_seed)`, so the per-episode
returns do not depend on `num_envs` or on scheduling.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import rl_unplugged
from rl_unplugged import compat, fileio, registry
from rl_unplugged.envs import action_bounds
from rl_unplugged.evaluation.protocols import SELECTION_METHODS, Protocol
from rl_unplugged.evaluation.vector_env import VectorEnv
from rl_unplugged.specs import ActionSpec, TaskSpec

Policy = Callable[[np.ndarray], np.ndarray]
RESULT_FORMAT = "rl_unplugged evaluation result"
RESULT_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class EpisodeStats:
    """Per-episode outcomes, in the order of the seeds that started them."""

    seeds: list[int]
    returns: np.ndarray  # (num_episodes,) float64: exact sums of raw rewards.
    lengths: np.ndarray  # (num_episodes,) int64: agent steps.
    steps: int  # Total environment steps.
    seconds: float  # Wall-clock time of the rollouts.


def _actions(policy: Policy, obs: np.ndarray, spec: ActionSpec,
             bounds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The policy's actions for `obs`, checked: int (B,) or float32 (B, A) clipped to bounds.

    Args:
      policy: the batched policy.
      obs: (B, *obs_shape) observations.
      spec: the task's action spec.
      bounds: continuous tasks only: `action_bounds(spec)` (float32 (A,) each).

    Raises:
      ValueError: wrong shape or dtype (integers for discrete tasks, floats for
        continuous ones), or non-finite continuous actions.
    """
    actions = np.asarray(policy(obs))
    expected = (obs.shape[0], *spec.shape)
    if actions.shape != expected:
        raise ValueError(f"policy returned actions of shape {actions.shape}; expected "
                         f"{expected} for an observation batch of shape {obs.shape}")
    if spec.is_discrete:
        if not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"policy returned {actions.dtype} actions; expected integers "
                             f"in [0, {spec.num_values})")
        return actions
    if not np.issubdtype(actions.dtype, np.floating):
        raise ValueError(f"policy returned {actions.dtype} actions; expected floats of "
                         f"shape {expected} for continuous actions")
    actions = actions.astype(np.float32)
    finite = np.isfinite(actions).all(axis=1)
    if not finite.all():
        raise ValueError(f"policy returned non-finite (NaN or inf) actions for batch rows "
                         f"{np.flatnonzero(~finite).tolist()}")
    return np.clip(actions, *bounds)


def run_episodes(policy: Policy, task: TaskSpec | str, seeds: Sequence[int], *,
                 num_envs: int = 16, epsilon: float = 0.0) -> EpisodeStats:
    """Plays one episode per seed with `policy`, `num_envs` episodes at a time.

    Continuous tasks: the policy returns floats (num_envs, A); finite actions outside
    the spec's bounds are clipped into them (what dm_control and gymnasium users
    expect: the simulators clip too), so the executed action is always in bounds.

    Args:
      policy: batched policy, obs (num_envs, *obs_shape) -> actions: int (num_envs,)
        for discrete tasks, float (num_envs, A) for continuous ones.
      task: the task (spec or id); its environment includes the time limit.
      seeds: one reset seed per episode.
      num_envs: parallel environments (capped at len(seeds)).
      epsilon: probability of replacing the policy's action by a uniform one, drawn
        from a per-episode `np.random.default_rng(seed)` (1.0: a uniform random policy).
        Every step draws `rng.random()` then the random action: `rng.integers(
        num_actions)` (discrete) or `rng.uniform(minimum, maximum)` (continuous, one
        draw per dimension), so the stream stays aligned per episode.

    Raises:
      ValueError: bad arguments (epsilon > 0 with unbounded continuous actions), or
        the policy returns actions of the wrong shape/dtype/range, or non-finite ones.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("no seeds to evaluate")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    if isinstance(task, str):
        task = registry.get_task(task)
    spec = task.action
    discrete = spec.is_discrete
    num_actions = task.num_actions
    bounds = None if discrete else action_bounds(spec)
    if epsilon > 0.0 and not discrete and not np.isfinite(bounds).all():
        raise ValueError(f"{task.id}: epsilon > 0 needs finite action bounds (uniform "
                         f"random actions), got {spec.describe()}")
    venv = VectorEnv(task, min(num_envs, len(seeds)))
    n = venv.num_envs
    # Python lists, not NumPy scalars, in the inner loop: the same float64 sums, cheaper.
    returns = [0.0] * len(seeds)
    lengths = [0] * len(seeds)
    episode_of = list(range(n))  # Episode index each slot plays; -1 when idle.
    rngs: list[np.random.Generator | None] = [None] * n
    use_epsilon = epsilon > 0.0  # Only then build per-episode generators (~20 us each).
    start = time.perf_counter()
    for i in range(n):
        venv.reset(i, seeds[i])
        if use_epsilon:
            rngs[i] = np.random.default_rng(seeds[i])
    next_episode, active = n, n
    try:
        while active:
            actions = _actions(policy, venv.observations, spec, bounds)
            if discrete:
                actions = actions.tolist()
            for i in range(n):
                e = episode_of[i]
                if e < 0:
                    continue
                action = actions[i]
                if use_epsilon:
                    rng = rngs[i]
                    # Draw both numbers every step: the stream stays aligned per episode.
                    u = rng.random()
                    if discrete:
                        random_action = int(rng.integers(num_actions))
                    else:
                        random_action = rng.uniform(*bounds).astype(np.float32)
                    if u < epsilon:
                        action = random_action
                ts = venv.step(i, action)
                returns[e] += ts.reward
                lengths[e] += 1
                if ts.terminated or ts.truncated:
                    if next_episode < len(seeds):
                        venv.reset(i, seeds[next_episode])
                        if use_epsilon:
                            rngs[i] = np.random.default_rng(seeds[next_episode])
                        episode_of[i] = next_episode
                        next_episode += 1
                    else:
                        episode_of[i] = -1
                        active -= 1
    finally:
        venv.close()
    seconds = time.perf_counter() - start
    returns = np.asarray(returns, np.float64)
    lengths = np.asarray(lengths, np.int64)
    return EpisodeStats(seeds=seeds, returns=returns, lengths=lengths,
                        steps=int(lengths.sum()), seconds=seconds)


def load_run_policy(run_dir: str | Path, member: int = 0,
                    checkpoint: int | None = None) -> Policy:
    """The greedy policy of a learner's run directory (`rl_unplugged.training`)."""
    from rl_unplugged import training  # Lazy: the learners are optional here.

    return training.load_policy(Path(run_dir), member=member, checkpoint=checkpoint)


def _selection(method: str, name: str | None) -> dict[str, Any]:
    if method not in SELECTION_METHODS:
        raise ValueError(f"selection method must be one of {SELECTION_METHODS}, got {method!r}")
    if method == "offline" and not name:
        raise ValueError("selection method 'offline' needs the name of the offline "
                         "selection method (e.g. 'sbv')")
    if method == "final" and name:
        raise ValueError("selection method 'final' takes no name")
    return {"method": method, "name": name}


def evaluate(policy: Policy, protocol: Protocol, *, selection: str = "final",
             selection_name: str | None = None,
             datasets: Mapping[str, str | None] | Sequence[str] = (),
             policy_source: str | None = None, num_envs: int = 16) -> dict[str, Any]:
    """Evaluates `policy` under `protocol` and returns the results record (JSON-able).

    Args:
      policy: batched policy obs (B, *obs_shape) -> actions (B,).
      protocol: the task's frozen protocol (`protocols.get_protocol`).
      selection: 'final' or 'offline' (how the evaluated checkpoint was chosen).
      selection_name: the offline selection method's name (required for 'offline').
      datasets: the datasets the policy was trained on: names, or {name: version}.
        Each must be one of the protocol's allowed datasets.
      policy_source: free text recorded as provenance (e.g. the run directory).
      num_envs: parallel environments.

    Returns:
      A dict with the per-episode returns, lengths and seeds, the protocol's id,
      version and hashes, the selection method, datasets and versions, the package
      version and timing. `save_result`/`load_result` write and read it.
    """
    if protocol.frame_stack != 1:
        raise ValueError(f"{protocol.task_id}: frame_stack {protocol.frame_stack} is not "
                         "supported by this evaluator (every protocol uses 1)")
    if not isinstance(datasets, Mapping):
        datasets = {name: None for name in datasets}
    allowed = set(protocol.datasets)
    for name in datasets:
        if name.split(":")[0] not in allowed:
            raise ValueError(f"dataset {name!r} is not allowed by the protocol of "
                             f"{protocol.task_id}")
    sel = _selection(selection, selection_name)
    stats = run_episodes(policy, protocol.task, protocol.episode_seeds, num_envs=num_envs,
                         epsilon=protocol.epsilon)
    return {
        "format": RESULT_FORMAT,
        "format_version": RESULT_FORMAT_VERSION,
        "task": protocol.task_id,
        "protocol": {"id": protocol.content["protocol"], "version": protocol.version,
                     "hash": protocol.hash, "settings_hash": protocol.settings_hash},
        "selection": sel,
        "policy_source": policy_source,
        "datasets": dict(datasets),
        "package_version": rl_unplugged.__version__,
        "versions": compat.versions(),  # Key dependencies, for reproducing the numbers.
        "episode_seeds": stats.seeds,
        "returns": stats.returns.tolist(),
        "lengths": stats.lengths.tolist(),
        "mean_return": float(stats.returns.mean()),
        "steps": stats.steps,
        "seconds": stats.seconds,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def save_result(result: Mapping[str, Any], path: str | Path) -> Path:
    """Writes a results record as JSON (atomically)."""
    return fileio.write_json(path, dict(result), sort_keys=False)


def load_result(path: str | Path) -> dict[str, Any]:
    result = json.loads(Path(path).read_text())
    if result.get("format") != RESULT_FORMAT:
        raise ValueError(f"{path}: not an rl_unplugged evaluation result")
    return result

"""Runs a policy under a protocol, batched across episodes, into a results record.

A policy is any callable `obs (B, *obs_shape) -> actions`: integers (B,) in
[0, num_actions) for discrete tasks, floats (B, A) clipped into the action bounds
for continuous ones, so external agents can be evaluated; `load_run_policy` adapts a
run directory of this suite's learners. The policy is called once per vector step
with a full (num_envs, *obs_shape) batch: rows of environments whose episodes have
finished (at the tail of an evaluation) hold their last observation and their actions
are ignored, so a jitted policy sees one batch shape and compiles once.

Episode i always runs from `protocol.episode_seeds[i]`, and evaluation-epsilon
actions come from `action_rng(episode_seed)` (a stream spawned from the seed, never
the PCG64 stream the environment's reset gets), so the per-episode returns do not
depend on `num_envs` or on scheduling.

The protocol's rules (allowed datasets, selection, a run's task, feasible returns) are
`Protocol` methods, shared with submission validation; results records are checked
against them when evaluated, saved and loaded.
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
from rl_unplugged.errors import ConfigError, CorruptDataError, IncompatibleError, NotFoundError
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.evaluation.protocols import Protocol, ProtocolViolation
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
    # (num_episodes,) float64 sum_t gamma^t r_t, when `run_episodes` was given a gamma.
    discounted_returns: np.ndarray | None = None


def _actions(policy: Policy, obs: np.ndarray, spec: ActionSpec,
             bounds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The policy's actions for `obs`, checked: int (B,) or float32 (B, A) clipped to bounds.

    Args:
      policy: the batched policy.
      obs: (B, *obs_shape) observations.
      spec: the task's action spec.
      bounds: continuous tasks only: `action_bounds(spec)` (float32 (A,) each).

    Raises:
      IncompatibleError: wrong shape or dtype (integers for discrete tasks, floats for
        continuous ones), or non-finite continuous actions.
    """
    actions = np.asarray(policy(obs))
    expected = (obs.shape[0], *spec.shape)
    if actions.shape != expected:
        raise IncompatibleError(f"policy returned actions of shape {actions.shape}; expected "
                         f"{expected} for an observation batch of shape {obs.shape}")
    if spec.is_discrete:
        if not np.issubdtype(actions.dtype, np.integer):
            raise IncompatibleError(f"policy returned {actions.dtype} actions; expected integers "
                             f"in [0, {spec.num_values})")
        return actions
    if not np.issubdtype(actions.dtype, np.floating):
        raise IncompatibleError(f"policy returned {actions.dtype} actions; expected floats of "
                         f"shape {expected} for continuous actions")
    actions = actions.astype(np.float32)
    finite = np.isfinite(actions).all(axis=1)
    if not finite.all():
        raise IncompatibleError(f"policy returned non-finite (NaN or inf) actions for batch rows "
                         f"{np.flatnonzero(~finite).tolist()}")
    return np.clip(actions, *bounds)


def action_rng(seed: int) -> np.random.Generator:
    """The evaluation-epsilon generator of the episode that resets from `seed`.

    A child spawned from the seed's SeedSequence, as `protocols.EPSILON_RNG` states
    (issue 8 defect 4: protocol v1 used
    `default_rng(seed)`, the very PCG64 stream numpy-seeded environments draw from).
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(1)[0])


def run_episodes(policy: Policy, task: TaskSpec | str, seeds: Sequence[int], *,
                 num_envs: int = 16, epsilon: float = 0.0,
                 gamma: float | None = None) -> EpisodeStats:
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
        from a per-episode `action_rng(seed)` (1.0: a uniform random policy).
        Every step draws `rng.random()` then the random action: `rng.integers(
        num_actions)` (discrete) or `rng.uniform(minimum, maximum)` (continuous, one
        draw per dimension), so the stream stays aligned per episode.
      gamma: if given, also the discounted returns sum_t gamma^t r_t of the same episodes
        (`EpisodeStats.discounted_returns`; model selection compares value estimates
        with them).

    Raises:
      ValueError: bad arguments (epsilon > 0 with unbounded continuous actions), or
        the policy returns actions of the wrong shape/dtype/range, or non-finite ones.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("no seeds to evaluate")
    if not 0.0 <= epsilon <= 1.0:
        raise ConfigError(f"epsilon must be in [0, 1], got {epsilon}")
    if isinstance(task, str):
        task = registry.get_task(task)
    spec = task.action
    discrete = spec.is_discrete
    num_actions = task.num_actions
    bounds = None if discrete else action_bounds(spec)
    if epsilon > 0.0 and not discrete and not np.isfinite(bounds).all():
        raise ConfigError(f"{task.id}: epsilon > 0 needs finite action bounds (uniform "
                         f"random actions), got {spec.describe()}")
    venv = VectorEnv(task, min(num_envs, len(seeds)))
    n = venv.num_envs
    # Python lists, not NumPy scalars, in the inner loop: the same float64 sums, cheaper.
    returns = [0.0] * len(seeds)
    lengths = [0] * len(seeds)
    discounted = [0.0] * len(seeds) if gamma is not None else None
    episode_of = list(range(n))  # Episode index each slot plays; -1 when idle.
    rngs: list[np.random.Generator | None] = [None] * n
    use_epsilon = epsilon > 0.0  # Only then build per-episode generators (~20 us each).
    start = time.perf_counter()
    for i in range(n):
        venv.reset(i, seeds[i])
        if use_epsilon:
            rngs[i] = action_rng(seeds[i])
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
                if discounted is not None:
                    discounted[e] += gamma ** lengths[e] * ts.reward
                lengths[e] += 1
                if ts.terminated or ts.truncated:
                    if next_episode < len(seeds):
                        venv.reset(i, seeds[next_episode])
                        if use_epsilon:
                            rngs[i] = action_rng(seeds[next_episode])
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
                        steps=int(lengths.sum()), seconds=seconds,
                        discounted_returns=None if discounted is None
                        else np.asarray(discounted, np.float64))


@dataclasses.dataclass(frozen=True)
class RunPolicy:
    """The greedy policy of one member of a run directory, with what it was trained on.

    Callable like any `Policy`; `evaluate` checks `task` and `dataset` against the
    protocol (`Protocol.check_run`) before any rollout.
    """

    policy: Policy
    run_dir: Path
    task: str  # Task id from the run's config.json.
    dataset: str | None  # Dataset name from the run's config.json (None if not recorded).
    member: int = 0
    checkpoint: int | None = None
    seed: int | None = None  # The member's training seed (config.json's members).
    grid: dict[str, Any] = dataclasses.field(default_factory=dict)  # Its grid point.
    checkpoint_sha256: str | None = None  # The checkpoint's recorded digest (None: legacy).

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(obs)

    @property
    def source(self) -> str:
        return f"run {self.run_dir}"


def load_run_policy(run_dir: str | Path, member: int = 0, checkpoint: int | None = None, *,
                    protocol: Protocol | None = None) -> RunPolicy:
    """The greedy policy of a learner's run directory (`rl_unplugged.training`).

    Args:
      run_dir: a run directory (config.json records its task and dataset).
      member, checkpoint: which ensemble member and checkpoint step (default: the
        latest, whose step `RunPolicy.checkpoint` then records).
      protocol: if given, the run is checked against it before its parameters load.

    Raises:
      NotFoundError: `run_dir` has no config.json.
      IncompatibleError: (with `protocol`) the run was trained on another task or on a
        dataset the protocol does not allow.
    """
    from rl_unplugged.training import policy as run_policy  # Lazy: learners are optional.

    run_dir = Path(run_dir)
    try:
        config = run_policy.read_config(run_dir)
    except FileNotFoundError as e:
        raise NotFoundError(str(e)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptDataError(f"{run_dir / 'config.json'}: not JSON ({str(e)[:100]})"
                               ) from None
    if not isinstance(config, dict) or not isinstance(config.get("task"), str):
        raise ConfigError(f"{run_dir / 'config.json'}: no 'task' recorded")
    task, dataset = config["task"], config.get("dataset")
    if protocol is not None:  # Before the parameters load (and jit).
        protocol.check_run(task, dataset, source=f"run {run_dir}")
    members = {m.get("member"): m for m in config.get("members", []) if isinstance(m, dict)}
    seed = members.get(member, {}).get("seed")
    from rl_unplugged import checkpointing  # Lazy, as the learners' loader above.

    if checkpoint is None:  # The latest, named by its step so records say which one it was.
        checkpoint = (checkpointing.list_checkpoints(run_dir) or [None])[-1]
    return RunPolicy(policy=run_policy.load_policy(run_dir, member=member, checkpoint=checkpoint),
                     run_dir=run_dir, task=task, dataset=dataset, member=member,
                     checkpoint=checkpoint, seed=seed if isinstance(seed, int) else None,
                     grid=dict(members.get(member, {}).get("grid") or {}),
                     checkpoint_sha256=None if checkpoint is None
                     else checkpointing.checkpoint_digest(run_dir, checkpoint))


def run_policy_source(run_dir: str | Path, member: int, checkpoint: int | None) -> str:
    """The `policy_source` text of a run directory's member (one spelling everywhere)."""
    return f"run_dir:{run_dir} member={member} checkpoint={checkpoint}"


def evaluate(policy: Policy, protocol: Protocol, *, selection: str = "final",
             selection_name: str | None = None,
             datasets: Mapping[str, str | None] | Sequence[str] = (),
             policy_source: str | None = None, num_envs: int = 16,
             episodes: EpisodeStats | None = None) -> dict[str, Any]:
    """Evaluates `policy` under `protocol` and returns the results record (JSON-able).

    Args:
      policy: batched policy obs (B, *obs_shape) -> actions (B,); a `RunPolicy`
        (`load_run_policy`) is first checked against the protocol (`check_run`).
      protocol: the task's frozen protocol (`protocols.get_protocol`).
      selection: 'final' or 'offline' (how the evaluated checkpoint was chosen).
      selection_name: the offline selection method's name (required for 'offline').
      datasets: the datasets the policy was trained on: names, or {name: version}.
        Each must be one of the protocol's allowed datasets.
      policy_source: free text recorded as provenance (e.g. the run directory).
      num_envs: parallel environments.
      episodes: the protocol's episodes already played elsewhere (the Beam fan-out,
        `rl_unplugged.beam.evaluation`), over exactly `protocol.episode_seeds`.

    Returns:
      A dict with the per-episode returns, lengths and seeds, the protocol's id,
      version and hashes, the selection method, datasets and versions, the package
      version and timing. `save_result`/`load_result` write and read it.

    Raises:
      ProtocolViolation (a ConfigError): a dataset not allowed, or a bad selection.
      IncompatibleError: a `RunPolicy` trained on another task or disallowed data.
    """
    if protocol.frame_stack != 1:
        raise ValueError(f"{protocol.task_id}: frame_stack {protocol.frame_stack} is not "
                         "supported by this evaluator (every protocol uses 1)")
    if not isinstance(datasets, Mapping):
        datasets = {name: None for name in datasets}
    protocol.check_datasets(list(datasets))
    sel = protocol.check_selection(selection, selection_name)
    if isinstance(policy, RunPolicy):  # A run trained on another task is refused here.
        protocol.check_run(policy.task, policy.dataset, source=policy.source)
    if episodes is not None and list(episodes.seeds) != list(protocol.episode_seeds):
        raise ValueError("episodes were not played from the protocol's episode seeds")
    stats = episodes if episodes is not None else run_episodes(
        policy, protocol.task, protocol.episode_seeds, num_envs=num_envs,
        epsilon=protocol.epsilon)
    # Returns outside the task's reward bounds mean a broken environment or registry.
    protocol.check_returns(stats.returns.tolist())
    record = {
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
    if isinstance(policy, RunPolicy):
        # Which training run this is: members of one seed (grid points) are paired, not
        # independent runs, and `rlu leaderboard make-submission` refuses to count them
        # as several runs of one entry.
        record["training_run"] = {"run_dir": str(policy.run_dir), "member": policy.member,
                                  "seed": policy.seed, "grid": policy.grid,
                                  "checkpoint": policy.checkpoint,
                                  "checkpoint_sha256": policy.checkpoint_sha256}
    return record


def check_result(result: Any, protocol: Protocol | None = None) -> dict[str, Any]:
    """Checks a results record against its protocol's rules; returns it.

    Under `protocol` (default: the task's frozen one, when the record's settings hash is
    its) the seeds must be the protocol's and the returns one per seed, finite and
    inside `protocol.feasible_return_range`. A record of other settings (a custom or
    retired protocol) is still held to one finite return per recorded seed inside the
    task's feasible range (`TaskSpec.return_range`).

    Raises:
      ProtocolViolation (a ConfigError): naming the offending field.
    """
    if not isinstance(result, Mapping) or result.get("format") != RESULT_FORMAT:
        raise ProtocolViolation(("format",), "not an rl_unplugged evaluation result")
    try:
        frozen = protocols_lib.get_protocol(result.get("task"))
    except (KeyError, TypeError):
        raise ProtocolViolation(("task",), f"unknown task {str(result.get('task'))[:80]!r}"
                                ) from None
    record = result.get("protocol")
    settings_hash = record.get("settings_hash") if isinstance(record, Mapping) else None
    if protocol is None and settings_hash == frozen.settings_hash:
        protocol = frozen
    if protocol is not None:
        if settings_hash != protocol.settings_hash or protocol.task_id != frozen.task_id:
            raise ProtocolViolation(("protocol", "settings_hash"), "not the settings of the "
                                    f"protocol of {protocol.task_id} "
                                    f"({protocol.settings_hash[:12]})")
        if result.get("episode_seeds") != protocol.episode_seeds:
            raise ProtocolViolation(("episode_seeds",), f"not the {protocol.num_episodes} "
                                    f"episode seeds of the protocol of {protocol.task_id}")
    seeds, returns = result.get("episode_seeds"), result.get("returns")
    for name, value in (("episode_seeds", seeds), ("returns", returns)):
        if not isinstance(value, list):
            raise ProtocolViolation((name,), "not a list")
    if protocol is not None:
        protocol.check_returns(returns)
    else:
        protocols_lib.check_returns(returns, num_episodes=len(seeds),
                                    feasible=frozen.task.return_range, task_id=frozen.task_id)
    return dict(result)


def rescore(result: Any) -> dict[str, Any]:
    """A results record stamped with its task's current protocol, when only that
    protocol's references changed since it was evaluated.

    The protocol's `hash` covers its settings and its references, `settings_hash` the
    settings alone (environment, seeds, episodes, policy rules). A record whose
    `settings_hash` is the current protocol's holds returns the current protocol would
    give, so it takes the current id, version and hash; the hash it had is kept under
    `rescored_from` (with the date), and a record rescored before keeps that earlier
    `rescored_from` under `rescored_from["earlier"]`, so the chain leads back to the
    protocol it was evaluated under. A record already current is returned unchanged.
    Nothing else changes: returns, seeds and provenance are as evaluated.

    Raises:
      ProtocolViolation: not a valid record, or evaluated under other settings (then it
        must be re-evaluated).
    """
    record = check_result(result)
    current = protocols_lib.get_protocol(record["task"])
    if record["protocol"].get("settings_hash") != current.settings_hash:
        raise ProtocolViolation(("protocol", "settings_hash"), "evaluated under other settings "
                                f"than the current protocol of {current.task_id} "
                                f"({current.settings_hash[:12]}): re-evaluate it")
    if record["protocol"].get("hash") == current.hash:
        return record
    earlier = record.get("rescored_from")
    record["rescored_from"] = {
        "hash": record["protocol"].get("hash"), "version": record["protocol"].get("version"),
        "on": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "why": "same settings_hash: only the protocol's references changed",
        **({"earlier": earlier} if earlier else {})}
    record["protocol"] = {"id": current.content["protocol"], "version": current.version,
                          "hash": current.hash, "settings_hash": current.settings_hash}
    return record


def save_result(result: Mapping[str, Any], path: str | Path,
                protocol: Protocol | None = None) -> Path:
    """Checks a results record (`check_result`) and writes it as JSON (atomically)."""
    return fileio.write_json(path, check_result(result, protocol), sort_keys=False)


def load_result(path: str | Path, protocol: Protocol | None = None) -> dict[str, Any]:
    """Reads a results record and checks it (`check_result`, under `protocol` if given).

    Raises:
      NotFoundError: no such file.
      CorruptDataError: not JSON.
      ProtocolViolation (a ConfigError): the record breaks its protocol (message names
        the file and the field).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such evaluation result") from None
    try:
        result = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise CorruptDataError(f"{path}: not JSON ({str(e)[:100]})") from None
    try:
        return check_result(result, protocol)
    except ProtocolViolation as e:
        raise ProtocolViolation(e.field, f"{e.reason} (in {path})") from None

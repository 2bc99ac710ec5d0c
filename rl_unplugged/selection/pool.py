"""Candidate pools as a versioned artefact: trained members at several checkpoints, with
their configs, true returns (protocol evaluator, Monte Carlo with a CI) and the dataset
they were trained on (name and fingerprint).

Layout of a pool directory:

  pool.json        format 'rlu-selection-pool' (FORMAT_VERSION), dataset name and store
                   fingerprint, task, gamma, protocol id/version/hash and its random and
                   expert references, the discounted references (below), runs, and one
                   record per candidate (run, member, checkpoint, config, `pessimistic`,
                   `has_q`, true return mean/CI, discounted return mean/CI)
  runs/<key>/      ordinary run directories (`training.train`): config.json and the
                   checksummed checkpoints holding the parameters

CQL's Q is pessimistic by design (Kumar et al. 2020, Thm 3.2: it lower-bounds the
policy's value), so its candidates carry `pessimistic: true`: value-estimating criteria
and Q-magnitude comparisons across agents must read it. BC's action scores are logits,
not values: its candidates have `has_q: false` and only policy criteria apply.

Two true quantities per candidate, from the same protocol evaluation episodes:

- `true_return`: the undiscounted return (the protocol's score), what rankings (Spearman,
  regret@k, top-k) are scored against;
- `discounted_return`: sum_t gamma^t r_t with the task's gamma, from each episode's start,
  the quantity FQE, WIS and DR estimate; absolute error and type I/II errors compare value
  estimates with it. It is normalised on its own scale (`references_discounted`): 0 at the
  uniform random policy's discounted return over the protocol's episodes (measured as the
  protocol's random reference is, with epsilon 1.0), 1 at the pool's best candidate. Both
  are Monte-Carlo returns of the protocol's (epsilon-greedy, time-limited) episodes;
  estimators value the greedy policy over an unbounded horizon, a difference of order
  epsilon and gamma^time_limit.

Format 1 pools lack the discounted returns; `add_discounted_returns` re-evaluates their
candidates (same episodes) and rewrites them as format 2.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

import rl_unplugged
from rl_unplugged import compile_cache, fileio, registry
from rl_unplugged import data as data_lib
from rl_unplugged.errors import ConfigError, CorruptDataError, IncompatibleError, NotFoundError
from rl_unplugged.evaluation import evaluator, normalisation, protocols
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.training import loop, policy

FORMAT = "rlu-selection-pool"
FORMAT_VERSION = 2
POOL_FILE = "pool.json"
PESSIMISTIC_AGENTS = ("cql", "cql_qrdqn")
POLICY_ONLY_AGENTS = ("bc",)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSpec:
    """One vmapped run of the pool: agent, config overrides, grid, seeds."""

    key: str
    agent: str
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    grid: Mapping[str, Sequence[Any]] = dataclasses.field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)


def _true_return(returns: Sequence[float]) -> dict[str, Any]:
    """Mean with a 95% normal-approximation CI (mean +- 1.96 sd / sqrt(n))."""
    r = np.asarray(returns, np.float64)
    half = 1.96 * r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else float("nan")
    return {"mean": float(r.mean()), "low": float(r.mean() - half),
            "high": float(r.mean() + half), "std": float(r.std()), "num_episodes": len(r)}


def _zeros_policy(obs: np.ndarray) -> np.ndarray:
    return np.zeros(obs.shape[0], np.int64)  # With epsilon 1.0 every action is random.


def _discounted_references(protocol, gamma: float, best: float, num_envs: int
                           ) -> dict[str, float]:
    """The discounted scale: the uniform random policy's discounted return over the
    protocol's episodes (as `evaluation.references` measures the random reference), and
    the pool's best candidate's."""
    stats = evaluator.run_episodes(_zeros_policy, protocol.task, protocol.episode_seeds,
                                   num_envs=num_envs, epsilon=1.0, gamma=gamma)
    return {"random": float(stats.discounted_returns.mean()), "best_candidate": best,
            "gamma": gamma}


def _evaluate(run_dir: Path, member: int, step: int, protocol, dataset: str, gamma: float,
              num_envs: int, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """True return and discounted return (mean with CI) of one candidate, from the same
    protocol evaluation episodes."""
    run_policy = evaluator.load_run_policy(run_dir, member, step, protocol=protocol)
    stats = evaluator.run_episodes(run_policy, protocol.task, protocol.episode_seeds,
                                   num_envs=num_envs, epsilon=protocol.epsilon, gamma=gamma)
    result = evaluator.evaluate(run_policy, protocol, datasets=[dataset], num_envs=num_envs,
                                policy_source=source, episodes=stats)
    return _true_return(result["returns"]), _true_return(stats.discounted_returns)


def build_pool(dataset: str, out_dir: str | os.PathLike, runs: Sequence[RunSpec], *,
               steps: int, checkpoint_every: int, data_dir: str | os.PathLike | None = None,
               log_every: int | None = None, num_envs: int = 16) -> Path:
    """Trains the runs on `dataset`, evaluates every member at every checkpoint under the
    task's frozen protocol, and writes the pool.

    Args:
      dataset: registered dataset name (must be built under `data_dir`).
      out_dir: the pool directory (created; an existing pool.json is refused).
      runs: the vmapped runs (agents x grids x seeds).
      steps, checkpoint_every: updates per member, and between checkpoints.
      log_every: updates per jitted chunk (default: checkpoint_every).

    Raises:
      ConfigError: an existing pool at `out_dir`, duplicate run keys.
    """
    out = Path(out_dir)
    if (out / POOL_FILE).exists():
        raise ConfigError(f"{out / POOL_FILE}: a pool already exists there")
    if len({r.key for r in runs}) != len(runs):
        raise ConfigError("build_pool: run keys must be unique")
    spec = registry.get_dataset(dataset)
    store = data_lib.open_dataset(spec, data_dir)
    transitions = store.transitions()
    task = spec.task
    protocol = protocols.get_protocol(task.id)
    low, high = normalisation.reference_values(protocol)
    records, run_records = [], {}
    for run in runs:
        run_dir = out / "runs" / run.key
        loop_log = log_every or checkpoint_every
        loop.train(run.agent, transitions, task, steps=steps, config=dict(run.config),
                   seeds=run.seeds, grid={k: list(v) for k, v in run.grid.items()} or None,
                   out_dir=run_dir, dataset=spec.name, log_every=loop_log, probe_every=None,
                   checkpoint_every=checkpoint_every, make_plots=False)
        members = policy.list_members(run_dir)
        run_records[run.key] = {"agent": run.agent, "path": f"runs/{run.key}",
                                "config": dict(run.config),
                                "grid": {k: list(v) for k, v in run.grid.items()},
                                "seeds": list(run.seeds), "steps": steps}
        for step in policy.list_checkpoints(run_dir):
            for m in members:
                true, discounted = _evaluate(run_dir, m["member"], step, protocol,
                                             spec.name, task.gamma, num_envs,
                                             f"pool run {run.key}")
                records.append({
                    "name": f"{run.key}_m{m['member']}_s{step}", "run": run.key,
                    "agent": run.agent, "member": m["member"], "checkpoint": step,
                    "config": {**dict(run.config), **m["grid"], "seed": m["seed"]},
                    "pessimistic": run.agent in PESSIMISTIC_AGENTS,
                    "has_q": run.agent not in POLICY_ONLY_AGENTS,
                    "true_return": true, "discounted_return": discounted})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "dataset": spec.name,
            "dataset_fingerprint": store.source["fingerprint"], "task": task.id,
            "gamma": task.gamma, "num_actions": task.num_actions,
            "observation_shape": list(transitions.observation.shape[1:]),
            "protocol": {"id": protocol.content["protocol"], "version": protocol.version,
                         "hash": protocol.hash},
            "references": {"random": low, "expert": high},
            "references_discounted": _discounted_references(
                protocol, task.gamma, max(r["discounted_return"]["mean"] for r in records),
                num_envs) if records else None,
            "package_version": rl_unplugged.__version__,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "runs": run_records, "candidates": records}
    fileio.write_json(out / POOL_FILE, meta)
    return out


def add_discounted_returns(pool_dir: str | os.PathLike, *, num_envs: int = 16
                           ) -> dict[str, Any]:
    """Re-evaluates a format-1 pool's candidates on the protocol's episodes, adds their
    discounted returns and the discounted references, and rewrites pool.json as format 2.

    The undiscounted returns are measured again from the same episodes and must equal the
    stored ones (else the evaluator or the protocol changed since the pool was built).

    Raises:
      CorruptDataError: a re-measured true return differs from the stored one.
      IncompatibleError: the protocol's hash is not the pool's.
    """
    pool_dir = Path(pool_dir)
    meta = read_pool(pool_dir)
    protocol = protocols.get_protocol(meta["task"])
    if protocol.hash != meta["protocol"]["hash"]:
        raise IncompatibleError(f"{pool_dir / POOL_FILE}: built under protocol hash "
                                f"{meta['protocol']['hash'][:12]}, the task's protocol is "
                                f"now {protocol.hash[:12]}")
    for rec in meta["candidates"]:
        true, discounted = _evaluate(pool_dir / meta["runs"][rec["run"]]["path"],
                                     rec["member"], rec["checkpoint"], protocol,
                                     meta["dataset"], meta["gamma"], num_envs,
                                     f"pool run {rec['run']}")
        if not np.isclose(true["mean"], rec["true_return"]["mean"], rtol=0, atol=1e-9):
            raise CorruptDataError(f"{pool_dir / POOL_FILE}: candidate {rec['name']} "
                                   f"re-evaluates to {true['mean']}, recorded "
                                   f"{rec['true_return']['mean']}")
        rec["discounted_return"] = discounted
    meta["references_discounted"] = _discounted_references(
        protocol, meta["gamma"], max(r["discounted_return"]["mean"] for r in meta["candidates"]),
        num_envs)
    meta["format_version"] = FORMAT_VERSION
    fileio.write_json(pool_dir / POOL_FILE, meta)
    return meta


def read_pool(pool_dir: str | os.PathLike) -> dict[str, Any]:
    """The pool's metadata (checked format and version).

    Raises:
      NotFoundError: no pool.json; CorruptDataError: another format or a newer version.
    """
    path = Path(pool_dir) / POOL_FILE
    if not path.exists():
        raise NotFoundError(f"{path}: not a candidate pool (no {POOL_FILE})")
    meta = fileio.read_json(path, what="candidate pool file", fmt=FORMAT)
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CorruptDataError(f"{path}: format_version {meta['format_version']} is newer "
                               f"than this package reads ({FORMAT_VERSION})")
    return meta


def _member(run_dir: Path, member: int, checkpoint: int):
    # The training package's loader (one home for member loading; see training.policy).
    return policy._learner_and_params(run_dir, member, checkpoint)


def load_candidates(pool_dir: str | os.PathLike, meta: Mapping[str, Any] | None = None
                    ) -> list[Candidate]:
    """The pool's candidates: Q (None for policy-only agents), greedy policy, features."""
    pool_dir = Path(pool_dir)
    meta = meta or read_pool(pool_dir)
    out = []
    for rec in meta["candidates"]:
        learner, params = _member(pool_dir / meta["runs"][rec["run"]]["path"],
                                  rec["member"], rec["checkpoint"])
        scores, _ = policy._functions(learner)  # Jitted once per (agent, config, task).
        rep = compile_cache.cached(
            ("selection.features", learner.name, learner.config, learner.task),
            lambda learner=learner: jax.jit(lambda p, o: learner.representation(p, o)[1:]))

        def q(obs, scores=scores, params=params):
            return np.asarray(scores(params, np.asarray(obs)), np.float64)

        def features(obs, rep=rep, params=params):
            r, acts = rep(params, np.asarray(obs))
            return np.asarray(r), tuple(np.asarray(a) for a in acts)

        out.append(Candidate(
            name=rec["name"], num_actions=meta["num_actions"],
            observation_shape=tuple(meta["observation_shape"]),
            q=q if rec["has_q"] else None,
            policy=None if rec["has_q"] else (lambda obs, q=q: q(obs).argmax(-1)),
            features=features, metadata=rec))
    return out

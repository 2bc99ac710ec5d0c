"""Evaluations fanned out over Beam: one element per (candidate, block of episode seeds).

Episode i always starts from the protocol's seed i and draws its evaluation-epsilon
actions from `evaluator.action_rng(seed)`, so a block's per-episode returns do not depend on
which worker ran it, nor on the block size (`evaluator.run_episodes`' guarantee).
`evaluate_block` runs one block with the in-process evaluator's own `run_episodes`;
`merge_blocks` puts the blocks back in seed order; `evaluate` builds the same results
record as `evaluator.evaluate`, whose checks it shares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rl_unplugged.beam import engine
from rl_unplugged.errors import ConfigError
from rl_unplugged.evaluation import evaluator
from rl_unplugged.evaluation.protocols import Protocol

__all__ = ["Candidate", "evaluate", "evaluate_block", "merge_blocks", "seed_blocks"]

# A candidate: {'run_dir': str, 'member': int, 'checkpoint': int | None}.
Candidate = Mapping[str, Any]


def seed_blocks(seeds: Sequence[int], block: int) -> list[list[int]]:
    """`seeds` cut into consecutive blocks of `block` (the last may be shorter)."""
    if block <= 0:
        raise ConfigError(f"--seed-block must be > 0, got {block}")
    seeds = [int(s) for s in seeds]
    return [seeds[i:i + block] for i in range(0, len(seeds), block)]


def evaluate_block(element: Mapping[str, Any]) -> dict[str, Any]:
    """One (candidate, seed block): {'index', 'seeds', 'returns', 'lengths', 'steps', 'seconds'}.

    element: {'candidate': Candidate, 'index': candidate index, 'task': task id,
    'seeds': [...], 'epsilon': float, 'num_envs': int}.
    """
    c = element["candidate"]
    policy = evaluator.load_run_policy(c["run_dir"], member=c.get("member", 0),
                                       checkpoint=c.get("checkpoint"))
    stats = evaluator.run_episodes(policy, element["task"], element["seeds"],
                                   num_envs=element["num_envs"], epsilon=element["epsilon"])
    return {"index": element["index"], "seeds": list(stats.seeds),
            "returns": stats.returns.tolist(), "lengths": stats.lengths.tolist(),
            "steps": int(stats.steps), "seconds": float(stats.seconds)}


def merge_blocks(blocks: Sequence[Mapping[str, Any]], seeds: Sequence[int]
                 ) -> evaluator.EpisodeStats:
    """One candidate's blocks as `EpisodeStats` in the order of `seeds`.

    Raises:
      ValueError: the blocks do not cover `seeds` exactly once (a lost or repeated element).
    """
    by_seed: dict[int, tuple[float, int]] = {}
    for b in blocks:
        for s, r, n in zip(b["seeds"], b["returns"], b["lengths"], strict=True):
            if s in by_seed:
                raise ValueError(f"episode seed {s} evaluated twice")
            by_seed[s] = (r, n)
    if sorted(by_seed) != sorted(int(s) for s in seeds):
        raise ValueError("the blocks do not cover the protocol's episode seeds")
    return evaluator.EpisodeStats(
        seeds=[int(s) for s in seeds],
        returns=np.array([by_seed[int(s)][0] for s in seeds], np.float64),
        lengths=np.array([by_seed[int(s)][1] for s in seeds], np.int64),
        steps=sum(int(b["steps"]) for b in blocks),
        seconds=sum(float(b["seconds"]) for b in blocks))


def evaluate(candidates: Sequence[Candidate], protocol: Protocol, *, block: int = 10,
             runner: str = "DirectRunner", options: str | Sequence[str] = (),
             num_envs: int = 16, scratch=None, **record: Any) -> list[dict[str, Any]]:
    """Results records of every candidate, computed as (candidate x seed block) elements.

    `record` holds `evaluator.evaluate`'s keyword arguments (selection, datasets, ...);
    each candidate's record is the in-process evaluator's, with the same returns.
    """
    engine.require_beam()
    seeds = list(protocol.episode_seeds)
    elements = [{"candidate": dict(c), "index": i, "task": protocol.task_id, "seeds": b,
                 "epsilon": protocol.epsilon, "num_envs": num_envs}
                for i, c in enumerate(candidates) for b in seed_blocks(seeds, block)]
    blocks = engine.run_map(evaluate_block, elements, runner=runner, options=options,
                            scratch=scratch)
    return [records_for(c, [b for b in blocks if b["index"] == i], protocol, num_envs,
                        **record) for i, c in enumerate(candidates)]


def records_for(candidate: Candidate, blocks: Sequence[Mapping[str, Any]], protocol: Protocol,
                num_envs: int, **record: Any) -> dict[str, Any]:
    """The results record of one candidate from its evaluated blocks."""
    policy = evaluator.load_run_policy(candidate["run_dir"], member=candidate.get("member", 0),
                                       checkpoint=candidate.get("checkpoint"))
    stats = merge_blocks(blocks, protocol.episode_seeds)
    record = {"policy_source": evaluator.run_policy_source(  # As in-process.
        candidate["run_dir"], policy.member, policy.checkpoint), **record}
    return evaluator.evaluate(policy, protocol, episodes=stats, num_envs=num_envs, **record)

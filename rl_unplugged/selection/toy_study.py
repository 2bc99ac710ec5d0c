"""The toy-environment study: how well each criterion ranks the FQI candidates.

Per seed: log a fresh dataset (`toy.generate`), fit the FQI pool on its training
trajectories, score every candidate with each criterion (fitted on the training part,
scored on the validation trajectories), and compare with the Monte-Carlo true values.
Reports per criterion the mean Spearman correlation over seeds (with a bootstrap CI over
seeds and candidate subsets) and the normalised regret@1 (0 = random policy, 1 = the best
candidate of that seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rl_unplugged.selection import fqe, metrics, ope, sbv, toy
from rl_unplugged.selection.criteria import score_pool
from rl_unplugged.selection.result import utilities

DEFAULT_CRITERIA = ("td", "sbv", "fqe", "wis", "dr")
FQE_CONFIG = fqe.FQEConfig(degree=2, alpha=1.0, iterations=50)


def run_seed(task: toy.ToyTask, seed: int, criteria: Sequence[str],
             grid: toy.FQIGrid | None = None, sbv_config: sbv.SBVConfig | None = None,
             rollouts: int = 2000) -> dict[str, Any]:
    """One seed: {'names', 'true' (M,), 'utility': {criterion: (M,)}, 'nan_candidates'}."""
    rng = np.random.default_rng([seed, int(round(task.x * 1000))])
    split = toy.make_split(task, rng)
    cands = toy.fqi_candidates(split, grid)
    sbv_config = sbv_config or sbv.SBVConfig()
    pooled_sbv = {}
    if "sbv" in criteria:  # One pass over the pool (multi-output ridge, vmapped network).
        pooled_sbv = dict(zip([c.name for c in cands], sbv.sbv_pool(cands, split, sbv_config),
                              strict=True))
    overrides = {
        "sbv": lambda c, s: pooled_sbv[c.name],
        "fqe": lambda c, s: fqe.fqe_criterion(c, s, FQE_CONFIG),
        "wis": lambda c, s: ope.wis_criterion(c, s, ope.OPEConfig(fqe=FQE_CONFIG)),
        "dr": lambda c, s: ope.dr_criterion(c, s, ope.OPEConfig(fqe=FQE_CONFIG)),
    }
    results = score_pool(cands, split, criteria, overrides)
    true = toy.true_values(task, cands, np.random.default_rng([seed, 7]), rollouts=rollouts)
    names = [c.name for c in cands]
    return {"names": names, "true": true,
            "utility": {k: utilities([v[n] for n in names]) for k, v in results.items()},
            "nan_candidates": {k: [n for n in names if not v[n].finite]
                               for k, v in results.items()}}


def run(task: toy.ToyTask, seeds: int, criteria: Sequence[str] = DEFAULT_CRITERIA, *,
        grid: toy.FQIGrid | None = None, sbv_config: sbv.SBVConfig | None = None,
        rollouts: int = 2000, bootstrap_samples: int = 1000) -> dict[str, Any]:
    """The study over `seeds` seeds; a JSON-able summary.

    Returns:
      {'task': {...}, 'seeds', 'candidates', 'spearman': {criterion: mean},
       'spearman_ci': {criterion: [low, high]}, 'spearman_per_seed': {criterion: [...]},
       'regret_at_1': {criterion: mean}, 'nan_candidates': {criterion: count}}.
    """
    per_seed = [run_seed(task, s, criteria, grid, sbv_config, rollouts) for s in range(seeds)]
    true = np.stack([r["true"] for r in per_seed])
    low = toy.random_value(task, np.random.default_rng(12345), rollouts=rollouts)
    norm = np.stack([metrics.normalise(t, low, max(t.max(), low + 1e-9)) for t in true])
    out: dict[str, Any] = {
        "task": {"name": "toy", "x": task.x, "gamma": task.gamma,
                 "train_trajectories": task.train_trajectories,
                 "valid_trajectories": task.valid_trajectories, "length": task.length},
        "seeds": seeds, "candidates": len(per_seed[0]["names"]),
        "spearman": {}, "spearman_ci": {}, "spearman_per_seed": {}, "regret_at_1": {},
        "nan_candidates": {}}
    boot_rng = np.random.default_rng(0)
    for k in criteria:
        est = np.stack([r["utility"][k] for r in per_seed])
        per = [metrics.spearman(est[s], true[s]) for s in range(seeds)]
        ci = metrics.bootstrap(metrics.spearman, est, true, rng=boot_rng,
                               samples=bootstrap_samples)
        out["spearman"][k] = float(np.nanmean(per))
        out["spearman_ci"][k] = [ci["low"], ci["high"]]
        out["spearman_per_seed"][k] = per
        out["regret_at_1"][k] = float(np.nanmean(
            [metrics.regret_at_k(est[s], norm[s], 1) for s in range(seeds)]))
        out["nan_candidates"][k] = int(sum(len(r["nan_candidates"][k]) for r in per_seed))
    out["true_value_range"] = [float(true.min()), float(true.max())]
    out["random_policy_value"] = low
    return out

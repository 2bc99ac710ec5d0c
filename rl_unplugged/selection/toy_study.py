"""The synthetic-environment study (the SBV paper's toy and mHealth environments): how well
each criterion ranks the candidates.

Per seed: log a fresh dataset (`toy.generate`, `mhealth.generate`), fit the candidate
pool on its training trajectories (toy: FQI over degrees and penalties; mHealth: LSPI,
tree-based FQI and min-EMSBE fits), score every candidate with each criterion (fitted on
the training part, scored on the validation trajectories), and compare with the
Monte-Carlo true values (average reward per step, as the reference code of each).
Reports per criterion the mean Spearman correlation over seeds (with a bootstrap CI over
seeds and candidate subsets) and the normalised regret@1 (0 = random policy, 1 = the
best candidate of that seed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rl_unplugged.selection import fqe, metrics, mhealth, ope, sbv, toy
from rl_unplugged.selection.criteria import score_pool
from rl_unplugged.selection.result import CriterionResult, utilities

DEFAULT_CRITERIA = ("td", "sbv", "fqe", "wis", "dr")
FQE_CONFIG = fqe.FQEConfig(degree=2, alpha=1.0, iterations=50)
# mHealth: the reference code's SBV regression grid (polynomial degrees 1-3 x penalties;
# its random forests are replaced by the Bellman network; penalty 0 by 1e-6).
MHEALTH_SBV = sbv.SBVConfig(degrees=(1, 2, 3), alphas=(1e-6, 1e-2, 1.0, 100.0))
# Toy: the reference code's SBV grid (`runExperiment.R`, `calc_SBV`: `degrees_reg` 1-3 x
# `lambdas_reg`), ridge only, no network.
TOY_SBV = sbv.SBVConfig(degrees=(1, 2, 3), alphas=(1e-6, 1e-2, 1e2, 1e6), network=None)

Task = toy.ToyTask | mhealth.MHealthTask


def _env(task: Task):
    """The task's module (`toy` or `mhealth`)."""
    return toy if isinstance(task, toy.ToyTask) else mhealth


def _pool(task: Task, seed: int, grid):
    """(split, candidates) of one seed."""
    if _env(task) is mhealth:
        split = mhealth.make_split(task, np.random.default_rng([seed, 17]))
        return split, mhealth.candidates(split, task, seed, grid)
    salt = int(round(task.x * 1000))
    split = toy.make_split(task, np.random.default_rng([seed, salt]))
    return split, toy.fqi_candidates(split, grid, task=task,
                                     rng=np.random.default_rng([seed, salt, 45]))


def _true_values(task: Task, cands, seed: int, rollouts: int) -> np.ndarray:
    return _env(task).true_values(task, cands, np.random.default_rng([seed, 7]), rollouts=rollouts)


def _describe(task: Task) -> dict[str, Any]:
    if _env(task) is mhealth:
        return {"name": mhealth.NAME, **dataclasses.asdict(task),
                "true_value": "average reward per step over eval_horizon steps after "
                              "burn_in (undiscounted, as the paper)"}
    return {"name": "toy", "x": task.x, "gamma": task.gamma,
            "train_trajectories": task.train_trajectories,
            "valid_trajectories": task.valid_trajectories, "length": task.length,
            "true_value": "average reward per step of the greedy policy over 100 steps "
                          "(undiscounted, as the reference code's evalBeta)"}


def _sbv_scores(cands, split, config) -> dict[str, CriterionResult]:
    """SBV of the pool; a candidate whose Bellman targets or values leave the float32
    range (the toy pool's diverged FQI fits) gets a NaN score instead of breaking the
    shared float32 regression."""
    limit = float(np.finfo(np.float32).max) ** 0.5  # Their squares stay finite too.
    ok = [c for c in cands
          if all(np.all(np.abs(v) < limit) for v in sbv.targets(c, split))]
    out = dict(zip([c.name for c in ok], sbv.sbv_pool(ok, split, config), strict=True))
    for c in cands:
        if c.name not in out:
            out[c.name] = CriterionResult(criterion="sbv", score=float("nan"),
                                          higher_is_better=False,
                                          details={"skipped": "values beyond float32"})
    return out


def _worst_if_not_finite(utility: np.ndarray) -> np.ndarray:
    """Toy: a non-finite score (a diverged fit's infinite error) ranks last, tied, as the
    reference's `cor(method='spearman')` ranks Inf errors, instead of being dropped."""
    finite = np.isfinite(utility)
    if finite.all() or not finite.any():
        return utility
    return np.where(finite, utility, utility[finite].min() - 1.0)


def run_seed(task: Task, seed: int, criteria: Sequence[str], grid=None,
             sbv_config: sbv.SBVConfig | None = None, rollouts: int = 2000
             ) -> dict[str, Any]:
    """One seed: {'names', 'true' (M,), 'utility': {criterion: (M,)}, 'nan_candidates'}.

    `grid`: `toy.FQIGrid` or `mhealth.CandidateGrid` (default: the paper's)."""
    split, cands = _pool(task, seed, grid)
    if sbv_config is None:
        sbv_config = MHEALTH_SBV if _env(task) is mhealth else TOY_SBV
    pooled_sbv = {}
    if "sbv" in criteria:  # One pass over the pool (multi-output ridge, vmapped network).
        pooled_sbv = _sbv_scores(cands, split, sbv_config)
    overrides = {
        "sbv": lambda c, s: pooled_sbv[c.name],
        "fqe": lambda c, s: fqe.fqe_criterion(c, s, FQE_CONFIG),
        "wis": lambda c, s: ope.wis_criterion(c, s, ope.OPEConfig(fqe=FQE_CONFIG)),
        "dr": lambda c, s: ope.dr_criterion(c, s, ope.OPEConfig(fqe=FQE_CONFIG)),
    }
    results = score_pool(cands, split, criteria, overrides)
    true = _true_values(task, cands, seed, rollouts)
    names = [c.name for c in cands]
    utility = {k: utilities([v[n] for n in names]) for k, v in results.items()}
    if _env(task) is toy:
        utility = {k: _worst_if_not_finite(u) for k, u in utility.items()}
    return {"names": names, "true": true, "utility": utility,
            "nan_candidates": {k: [n for n in names if not v[n].finite]
                               for k, v in results.items()}}


def run(task: Task, seeds: int, criteria: Sequence[str] = DEFAULT_CRITERIA, *,
        grid=None, sbv_config: sbv.SBVConfig | None = None, rollouts: int = 2000,
        bootstrap_samples: int = 1000,
        on_seed: Callable[[int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The study over `seeds` seeds; a JSON-able summary.

    Returns:
      {'task': {...}, 'seeds', 'candidates', 'spearman': {criterion: mean},
       'spearman_ci': {criterion: [low, high]}, 'spearman_per_seed': {criterion: [...]},
       'regret_at_1': {criterion: mean}, 'nan_candidates': {criterion: count}}.
    """
    per_seed = []
    for s in range(seeds):
        per_seed.append(run_seed(task, s, criteria, grid, sbv_config, rollouts))
        if on_seed is not None:  # Results as they fall (long runs).
            on_seed(s, per_seed[-1])
    true = np.stack([r["true"] for r in per_seed])
    low = _env(task).random_value(task, np.random.default_rng(12345), rollouts=rollouts)
    norm = np.stack([metrics.normalise(t, low, max(t.max(), low + 1e-9)) for t in true])
    out: dict[str, Any] = {
        "task": _describe(task),
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

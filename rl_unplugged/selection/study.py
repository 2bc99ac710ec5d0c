"""A model-selection study on a stored pool: scores, ranks, metrics and plots.

`run_study` loads the pool's dataset (checking its fingerprint against the pool's),
holds out 20% of the episodes, scores every candidate with the named criteria, and
writes to the output directory:

  candidates.parquet, candidates.csv   per candidate: agent, member, checkpoint,
                                       pessimistic, true return (mean, CI, normalised),
                                       discounted return (mean, CI, normalised), each
                                       criterion's score, value and rank
  metrics.json                         per criterion: Spearman (bootstrap CI over
                                       candidate subsets), regret@k, top-k (k = 1, 3, 5),
                                       absolute error and type I/II (value criteria),
                                       NaN candidates
  plots/scatter.png, plots/regret.png, plots/top_k.png

Two true quantities (`pool` explains both): rankings (Spearman, regret@k, top-k) are
scored against the undiscounted protocol return, normalised with the protocol's
random/expert references (`metrics` explains why); value estimates (FQE, WIS, DR) estimate
the gamma-discounted return from the initial state, so absolute error and type I/II are
computed against the candidates' Monte-Carlo discounted returns, with estimates and truth
normalised alike on the discounted scale (0: uniform random policy, 1: the pool's best
candidate; `threshold` is on that scale). A format-1 pool has no discounted returns: its
value metrics are left out and `value_metrics` in metrics.json says why.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rl_unplugged import data as data_lib
from rl_unplugged import fileio
from rl_unplugged.errors import IncompatibleError
from rl_unplugged.selection import fqe, metrics, ope, plots, pool, sbv
from rl_unplugged.selection.criteria import HIGHER_IS_BETTER, score_pool
from rl_unplugged.selection.linear import MAX_FEATURES
from rl_unplugged.selection.result import rank_scores
from rl_unplugged.selection.split import split_by_episode

KS = (1, 3, 5)


@dataclasses.dataclass(frozen=True, kw_only=True)
class StudyConfig:
    """valid_fraction: held-out episodes; threshold: normalised discounted value for type I/II;
    sbv, fqe, ope: criterion settings (defaults sized for bsuite/classic observations)."""

    def resolve(self, obs_dim: int) -> StudyConfig:
        """Fills the FQE degree in: quadratic features of a 50-d state (1,326 per action)
        would make FQE's Gram matrices the study's main cost. Fills SBV's ridge degrees in:
        1 and 2, less those over `linear.MAX_FEATURES` (a 400-d MinAtar state has 80,601
        quadratic features, which `PolyFeatures` refuses)."""
        out = self
        if self.fqe is None:
            out = dataclasses.replace(out, fqe=fqe.FQEConfig(
                degree=2 if obs_dim <= 16 else 1, alpha=10.0, iterations=30))
        if self.sbv is None:
            degrees = tuple(d for d in (1, 2) if math.comb(obs_dim + d, d) <= MAX_FEATURES)
            out = dataclasses.replace(out, sbv=sbv.SBVConfig(degrees=degrees,
                                                             alphas=(1.0, 100.0)))
        return out

    valid_fraction: float = 0.2
    threshold: float = 0.5
    sbv: sbv.SBVConfig | None = None  # None: ridge degrees 1 and 2 where they fit, alphas 1, 100.
    fqe: fqe.FQEConfig | None = None  # None: degree 2 up to 16-d states, else 1.
    ope: ope.OPEConfig = dataclasses.field(default_factory=ope.OPEConfig)


def _overrides(candidates, split, names, config: StudyConfig):
    out = {}
    if "fqe" in names:  # One vmapped fit for the pool (the Gram matrices are shared).
        fits = dict(zip([c.name for c in candidates],
                        fqe.fit_fqe_pool(candidates, split, config.fqe), strict=True))
        out["fqe"] = lambda c, s: fqe.fqe_criterion(c, s, config.fqe, fits[c.name])
    if "sbv" in names:
        with_q = [c for c in candidates if c.q is not None]
        pooled = dict(zip([c.name for c in with_q], sbv.sbv_pool(with_q, split, config.sbv),
                          strict=True)) if with_q else {}

        def sbv_fn(c, s):
            if c.name not in pooled:
                raise IncompatibleError(f"candidate {c.name!r} has no Q-function")
            return pooled[c.name]
        out["sbv"] = sbv_fn
    if {"wis", "dr"} & set(names):
        opec = dataclasses.replace(config.ope, fqe=config.fqe)
        behaviour = ope.fit_behaviour(split.train, split.num_actions, opec)
        out["wis"] = lambda c, s: ope.wis_criterion(c, s, opec, behaviour)
        models = {}
        if "dr" in names:
            models = dict(zip([c.name for c in candidates],
                              fqe.fit_fqe_pool(candidates, split, ope.dr_config(opec)),
                              strict=True))
        out["dr"] = lambda c, s: ope.dr_criterion(c, s, opec, behaviour, models.get(c.name))
    return out


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def criterion_metrics(utility: np.ndarray, values: np.ndarray | None, true_norm: np.ndarray,
                      *, rng: np.random.Generator, samples: int, threshold: float,
                      true_values: np.ndarray | None = None) -> dict[str, Any]:
    """The metrics of one criterion.

    Args:
      utility: (M,) oriented scores, ranked against `true_norm` (M,), the normalised
        undiscounted returns.
      values: (M,) normalised value estimates, or None (no value metrics).
      true_values: (M,) the like quantity the values estimate (normalised discounted
        returns); value metrics are left out without it.
    """
    out: dict[str, Any] = {
        "spearman": metrics.bootstrap(metrics.spearman, utility, true_norm, rng=rng,
                                      samples=samples),
        "regret_at_k": {k: metrics.regret_at_k(utility, true_norm, k) for k in KS},
        "top_k": {k: metrics.top_k(utility, true_norm, k) for k in KS},
    }
    if values is not None and true_values is not None:
        out["absolute_error"] = metrics.absolute_error(values, true_values)
        out["type_errors"] = metrics.type_errors(values, true_values, threshold)
    return out


def run_study(pool_dir: str | os.PathLike, criteria: Sequence[str], out_dir: str | os.PathLike,
              *, seed: int = 0, data_dir: str | os.PathLike | None = None,
              bootstrap_samples: int = 1000, config: StudyConfig | None = None
              ) -> dict[str, Any]:
    """Scores the pool and writes the study (see the module docstring); returns its summary.

    Raises:
      IncompatibleError: the dataset under `data_dir` is not the one the pool was
        trained on (fingerprints differ), or a candidate does not fit the data.
    """
    config = config or StudyConfig()
    meta = pool.read_pool(pool_dir)
    store = data_lib.open_dataset(meta["dataset"], data_dir)
    if store.source["fingerprint"] != meta["dataset_fingerprint"]:
        raise IncompatibleError(f"{pool_dir}: trained on {meta['dataset']} with fingerprint "
                                f"{meta['dataset_fingerprint'][:16]}, the data under "
                                f"{data_dir} have {store.source['fingerprint'][:16]}")
    data = store.transitions()
    config = config.resolve(int(np.prod(data.observation.shape[1:])))
    split = split_by_episode(data, gamma=meta["gamma"], num_actions=meta["num_actions"],
                             valid_fraction=config.valid_fraction,
                             rng=np.random.default_rng(seed))
    candidates = pool.load_candidates(pool_dir, meta)
    results = score_pool(candidates, split, criteria,
                         _overrides(candidates, split, criteria, config))
    low, high = meta["references"]["random"], meta["references"]["expert"]
    true = np.array([c.metadata["true_return"]["mean"] for c in candidates])
    true_norm = metrics.normalise(true, low, high)
    disc_refs = meta.get("references_discounted")
    if disc_refs is not None:
        d_low, d_high = disc_refs["random"], disc_refs["best_candidate"]
        disc = np.array([c.metadata["discounted_return"]["mean"] for c in candidates])
        disc_norm = metrics.normalise(disc, d_low, d_high)
        value_note = (f"absolute error and type I/II against the Monte-Carlo discounted "
                      f"return (gamma {meta['gamma']}), normalised: 0 = uniform random "
                      f"policy ({d_low:.4g}), 1 = best candidate ({d_high:.4g}); "
                      f"threshold {config.threshold}")
    else:
        disc = disc_norm = None
        value_note = ("left out: the pool (format 1) has no discounted returns; run "
                      "selection.pool.add_discounted_returns on it")
    rows = []
    for c in candidates:
        rec = c.metadata
        row = {"name": c.name, "agent": rec["agent"], "member": rec["member"],
               "checkpoint": rec["checkpoint"], "pessimistic": rec["pessimistic"],
               "true_return": rec["true_return"]["mean"],
               "true_return_low": rec["true_return"]["low"],
               "true_return_high": rec["true_return"]["high"]}
        if disc is not None:
            d = rec["discounted_return"]
            row.update(discounted_return=d["mean"], discounted_return_low=d["low"],
                       discounted_return_high=d["high"])
        rows.append(row)
    table = pd.DataFrame(rows)
    table["true_normalised"] = true_norm
    if disc_norm is not None:
        table["discounted_normalised"] = disc_norm
    table["true_rank"] = table["true_return"].rank(ascending=False, method="min").astype(int)
    summary: dict[str, Any] = {"pool": str(pool_dir), "dataset": meta["dataset"],
                               "candidates": len(candidates), "seed": seed,
                               "valid_episodes": int(len(np.unique(split.valid.episode_id))),
                               "value_metrics": value_note, "metrics": {}}
    rng = np.random.default_rng(seed)
    for name in criteria:
        res = [results[name][c.name] for c in candidates]
        ranking = rank_scores(results[name])
        table[f"{name}_score"] = [r.score for r in res]
        table[f"{name}_value"] = [np.nan if r.value is None else r.value for r in res]
        table[f"{name}_rank"] = [ranking.ranks.get(c.name, pd.NA) for c in candidates]
        utility = np.array([r.utility if r.finite else np.nan for r in res])
        has_value = any(r.value is not None for r in res)
        values = (metrics.normalise(np.array([np.nan if r.value is None else r.value
                                              for r in res]), d_low, d_high)
                  if has_value and disc_norm is not None else None)
        m = criterion_metrics(utility, values, true_norm, rng=rng, samples=bootstrap_samples,
                              threshold=config.threshold, true_values=disc_norm)
        m["higher_is_better"] = HIGHER_IS_BETTER.get(name, True)
        m["nan_candidates"] = list(ranking.nan_candidates)
        summary["metrics"][name] = m
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    fileio.write_bytes(out / "candidates.parquet", buf.getvalue())
    fileio.write_text(out / "candidates.csv", table.to_csv(index=False))
    summary = _clean(summary)
    fileio.write_json(out / "metrics.json", summary)
    plots.write_plots(table, summary, criteria, out / "plots")
    return summary

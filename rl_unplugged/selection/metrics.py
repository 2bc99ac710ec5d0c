"""How well a criterion's ranking matches the candidates' true returns.

Conventions (as rliable's: one array convention through every function): `estimates`
are oriented criterion scores (higher is better, `CriterionResult.utility`) or value
estimates, `true` the candidates' true returns, both (M,) for one study or (S, M) for S
seeds. Returns given to regret, top-k and absolute error must be normalised first
(`normalise`, with the protocol's random/expert references): regret divides by the best
return, which is meaningless for raw negative returns. NaN estimates are dropped (and
must be reported by the caller, `result.rank_scores`).

- `spearman`: Spearman rank correlation (scipy).
- `regret_at_k`: DOPE (Fu et al. 2021, "Benchmarks for Deep Off-Policy Evaluation",
  Sec. 5): (max_i V_i - max_{i in top-k by estimate} V_i) / max_i V_i.
- `top_k`: mean, max and std of the true normalised returns of the top-k by estimate
  (SCOPE-RL, Kiyohara et al. 2023).
- `absolute_error`: mean |estimate - V| on normalised values (DOPE).
- `type_errors`: SCOPE-RL's type I and II error rates against a return threshold t:
  type I = #{V >= t, estimate < t} / #{V >= t}; type II = #{V < t, estimate >= t} /
  #{V < t} (scope_rl/ope/online... `OffPolicySelection`, safety criteria).
- `bootstrap`: percentile CIs of any of these over seeds and candidate subsets, with an
  explicit `np.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from rl_unplugged.errors import ConfigError


def normalise(returns: np.ndarray, low: float, high: float) -> np.ndarray:
    """(R - low) / (high - low): 0 at the random reference, 1 at the expert one."""
    if not high > low:
        raise ConfigError(f"normalise: the expert reference {high} must exceed the random "
                          f"reference {low}")
    return (np.asarray(returns, np.float64) - low) / (high - low)


def _finite(estimates, true):
    estimates, true = np.asarray(estimates, np.float64), np.asarray(true, np.float64)
    keep = np.isfinite(estimates)
    return estimates[keep], true[keep]


def spearman(estimates: np.ndarray, true: np.ndarray) -> float:
    """Spearman correlation of estimates with true returns (NaN with < 2 or constant)."""
    e, t = _finite(estimates, true)
    if len(e) < 2 or np.ptp(e) == 0 or np.ptp(t) == 0:
        return float("nan")
    return float(stats.spearmanr(e, t).statistic)


def _top(e: np.ndarray, k: int) -> np.ndarray:
    # Stable: ties keep the candidates' order, as `result.rank_scores` does.
    return np.argsort(-e, kind="stable")[:k]


def regret_at_k(estimates: np.ndarray, true: np.ndarray, k: int) -> float:
    """DOPE normalised regret@k on normalised true returns (0 is perfect)."""
    e, t = _finite(estimates, true)
    if not len(e):
        return float("nan")
    best = np.max(t)
    if best <= 0:
        raise ConfigError(f"regret@k: the best normalised return is {best:g} <= 0; "
                          "normalise with references below every candidate")
    return float((best - np.max(t[_top(e, k)])) / best)


def top_k(estimates: np.ndarray, true: np.ndarray, k: int) -> dict[str, float]:
    """{'mean', 'max', 'std'} of the true returns of the top-k candidates by estimate."""
    e, t = _finite(estimates, true)
    if not len(e):
        return {"mean": float("nan"), "max": float("nan"), "std": float("nan")}
    chosen = t[_top(e, k)]
    return {"mean": float(chosen.mean()), "max": float(chosen.max()),
            "std": float(chosen.std())}


def absolute_error(values: np.ndarray, true: np.ndarray) -> float:
    """Mean |value estimate - true| (both normalised alike)."""
    e, t = _finite(values, true)
    return float(np.mean(np.abs(e - t))) if len(e) else float("nan")


def type_errors(values: np.ndarray, true: np.ndarray, threshold: float) -> dict[str, float]:
    """SCOPE-RL's type I and II error rates of value estimates against `threshold`."""
    e, t = _finite(values, true)
    safe, said_safe = t >= threshold, e >= threshold
    type_1 = float(np.sum(safe & ~said_safe) / safe.sum()) if safe.any() else 0.0
    type_2 = float(np.sum(~safe & said_safe) / (~safe).sum()) if (~safe).any() else 0.0
    return {"type_i": type_1, "type_ii": type_2}


Metric = Callable[[np.ndarray, np.ndarray], float]


def bootstrap(metric: Metric, estimates: np.ndarray, true: np.ndarray, *,
              rng: np.random.Generator, samples: int = 1000, subset_fraction: float = 0.8,
              min_subset: int = 2, level: float = 0.95) -> dict[str, float]:
    """Mean over seeds of `metric`, with a percentile CI over resampled seeds and subsets.

    Each bootstrap draw resamples the seeds with replacement and, per seed, a random
    subset of round(subset_fraction * M) candidates (at least `min_subset`) without
    replacement; the statistic is the mean of `metric` over the drawn seeds (NaNs
    skipped).

    Args:
      metric: (estimates (M,), true (M,)) -> float.
      estimates, true: (S, M) or (M,) arrays (true may be (M,) for all seeds).
      rng: the generator (no hidden global state).

    Returns:
      {'mean', 'low', 'high'}: point estimate on all candidates, CI bounds.
    """
    est = np.atleast_2d(np.asarray(estimates, np.float64))
    tru = np.broadcast_to(np.asarray(true, np.float64), est.shape)
    seeds, m = est.shape
    point = float(np.nanmean([metric(est[s], tru[s]) for s in range(seeds)]))
    size = min(m, max(min_subset, int(round(subset_fraction * m))))
    draws = np.empty(samples)
    for b in range(samples):
        values = []
        for s in rng.integers(0, seeds, seeds):
            idx = rng.choice(m, size=size, replace=False)
            values.append(metric(est[s, idx], tru[s, idx]))
        draws[b] = np.nanmean(values) if np.isfinite(values).any() else np.nan
    alpha = (1 - level) / 2
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return {"mean": point, "low": float("nan"), "high": float("nan")}
    return {"mean": point, "low": float(np.quantile(finite, alpha)),
            "high": float(np.quantile(finite, 1 - alpha))}

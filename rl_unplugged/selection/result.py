"""What a criterion returns, and how a set of results becomes a ranking.

A `CriterionResult` carries the score, the direction in which the score is better, and,
for criteria that estimate the candidate's value (FQE, WIS, DR), that estimate. Ranking
never sees a non-finite score: `rank_scores` puts those candidates in `nan_candidates`
and ranks the rest.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True, kw_only=True)
class CriterionResult:
    """One criterion's verdict on one candidate.

    Attributes:
      criterion: the criterion's name ('td', 'sbv', 'fqe', ...).
      score: the number to rank by (may be non-finite: then `finite` is False).
      higher_is_better: the direction of `score`.
      value: the criterion's estimate of the candidate's (discounted) value, or None for
        criteria that do not estimate one (TD error, SBV, representation probes).
      details: criterion-specific extras (chosen regression family, ...), JSON-able.
    """

    criterion: str
    score: float
    higher_is_better: bool
    value: float | None = None
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def finite(self) -> bool:
        return math.isfinite(self.score) and (self.value is None or math.isfinite(self.value))

    @property
    def utility(self) -> float:
        """The score oriented so that higher is better (for ranking and correlation)."""
        return self.score if self.higher_is_better else -self.score


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ranking:
    """Candidates ordered best first by one criterion.

    Attributes:
      order: names of the finite-scored candidates, best first.
      ranks: name -> rank (1 = best) for those candidates.
      nan_candidates: names whose score or value was non-finite (never ranked).
    """

    order: tuple[str, ...]
    ranks: Mapping[str, int]
    nan_candidates: tuple[str, ...]


def rank_scores(results: Mapping[str, CriterionResult]) -> Ranking:
    """Ranks candidates by one criterion's results (ties keep the given order).

    Args:
      results: candidate name -> that candidate's result for one criterion.

    Returns:
      The `Ranking`; non-finite results are listed in `nan_candidates`, not ranked.
    """
    names = [n for n, r in results.items() if r.finite]
    bad = tuple(n for n, r in results.items() if not r.finite)
    utilities = np.array([results[n].utility for n in names], np.float64)
    order = tuple(names[i] for i in np.argsort(-utilities, kind="stable"))
    return Ranking(order=order, ranks={n: i + 1 for i, n in enumerate(order)},
                   nan_candidates=bad)


def utilities(results: Sequence[CriterionResult]) -> np.ndarray:
    """(M,) oriented scores (higher is better), NaN where a result is not finite."""
    return np.array([r.utility if r.finite else np.nan for r in results], np.float64)

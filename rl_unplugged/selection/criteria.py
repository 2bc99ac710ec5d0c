"""The criteria by name, one interface: `criterion(candidate, split) -> CriterionResult`.

`score_pool` applies named criteria to a pool, checks every candidate against the data
first (`IncompatibleError`), and never lets an error or a non-finite number pass as a
score: criteria that do not apply to a candidate (no Q, no features) give NaN with the
reason in details, and rankings list NaN candidates apart (`result.rank_scores`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from rl_unplugged.errors import IncompatibleError, UnknownNameError
from rl_unplugged.selection import fqe, ope, representation, sbv, td
from rl_unplugged.selection.candidate import Candidate, check_compatible
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split

Criterion = Callable[[Candidate, Split], CriterionResult]

CRITERIA: Mapping[str, Criterion] = {
    "td": td.td_criterion,
    "sbv": sbv.sbv_criterion,
    "fqe": fqe.fqe_criterion,
    "wis": ope.wis_criterion,
    "dr": ope.dr_criterion,
    "srank": representation.srank_criterion,
    "erank": representation.erank_criterion,
    "dormant": representation.dormant_criterion,
}
HIGHER_IS_BETTER = {"td": False, "sbv": False, "fqe": True, "wis": True, "dr": True,
                    "srank": True, "erank": True, "dormant": False}


def get(name: str) -> Criterion:
    if name not in CRITERIA:
        raise UnknownNameError(f"unknown criterion {name!r}; known: {', '.join(CRITERIA)}")
    return CRITERIA[name]


def score_pool(candidates: Sequence[Candidate], split: Split, names: Sequence[str],
               overrides: Mapping[str, Criterion] | None = None
               ) -> dict[str, dict[str, CriterionResult]]:
    """criterion name -> candidate name -> result.

    Args:
      candidates: the pool; split: the data; names: criteria to apply.
      overrides: criterion implementations to use instead of the defaults (e.g. a
        configured SBV, or the pooled `sbv.sbv_pool`), same interface.

    Raises:
      IncompatibleError: a candidate does not match the data's spaces.
      UnknownNameError: an unknown criterion name.
    """
    fns = {n: (overrides or {}).get(n) or get(n) for n in names}
    for c in candidates:
        check_compatible(c, split.valid, split.num_actions)
    out: dict[str, dict[str, CriterionResult]] = {}
    for name, fn in fns.items():
        out[name] = {}
        for c in candidates:
            try:
                result = fn(c, split)
            except IncompatibleError as e:  # e.g. srank of a candidate without features
                result = CriterionResult(criterion=name, score=math.nan,
                                         higher_is_better=HIGHER_IS_BETTER.get(name, True),
                                         details={"error": str(e)})
            out[name][c.name] = result
    return out

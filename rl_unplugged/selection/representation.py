"""Representation criteria: srank, effective rank and dormant fraction of a candidate's
penultimate features on a fixed batch of held-out states.

Gulcehre et al. (2022), "An Empirical Study of Implicit Regularization in Deep Offline
RL", ask whether these predict a policy's return. The probes themselves live in
`rl_unplugged.probes` (srank: Kumar et al. 2021 eq. 1, delta = 0.01, counted 1-based;
erank: Roy & Vetterli 2007; dormant units: Sokar et al. 2023 Def. 3.1); this module only
feeds them. Higher srank/erank and a lower dormant fraction are declared better (the
hypothesis under test, not a fact).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rl_unplugged import probes
from rl_unplugged.errors import IncompatibleError
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split

PROBE_BATCH = 2048
DORMANT_TAU = 0.1


def probe_states(split: Split, size: int = PROBE_BATCH) -> np.ndarray:
    """A fixed batch: the first `size` validation states, in stored order (deterministic,
    the same for every candidate)."""
    return split.valid.observation[:size]


def _features(candidate: Candidate, split: Split):
    if candidate.features is None:
        raise IncompatibleError(f"candidate {candidate.name!r} exposes no features")
    rep, acts = candidate.features(probe_states(split))
    return jnp.asarray(rep), [jnp.asarray(a) for a in acts]


def srank_criterion(candidate: Candidate, split: Split, delta: float = 0.01
                    ) -> CriterionResult:
    rep, _ = _features(candidate, split)
    return CriterionResult(criterion="srank", score=float(probes.srank(rep, delta)),
                           higher_is_better=True)


def erank_criterion(candidate: Candidate, split: Split) -> CriterionResult:
    rep, _ = _features(candidate, split)
    return CriterionResult(criterion="erank", score=float(probes.erank(rep)),
                           higher_is_better=True)


def dormant_criterion(candidate: Candidate, split: Split, tau: float = DORMANT_TAU
                      ) -> CriterionResult:
    """Fraction of tau-dormant units over all hidden layers (lower is better)."""
    _, acts = _features(candidate, split)
    sizes = [a.reshape(a.shape[0], -1).shape[1] for a in acts]
    fractions = [float(probes.dormant_fraction(a, tau)) for a in acts]
    score = sum(f * s for f, s in zip(fractions, sizes, strict=True)) / sum(sizes)
    return CriterionResult(criterion="dormant", score=score, higher_is_better=False,
                           details={"tau": tau, "per_layer": fractions})

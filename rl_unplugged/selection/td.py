"""TD error (EMSBE) of a candidate's Q on the held-out episodes.

Zitovsky et al. 2023, "Revisiting Bellman Errors for Offline Model Selection" (ICML),
eq. 4: EMSBE(Q) = mean_valid (Y - Q(s, a))^2 with Y = r + gamma (1 - terminal)
max_a' Q(s', a'). Lower is better. Its expectation adds E[Var(Y | s, a)] to the true
MSBE, a bias that grows with the candidate's own target variance (see `sbv`).
"""

from __future__ import annotations

import jax.numpy as jnp

from rl_unplugged.selection import bellman
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split

NAME = "td"


def td_criterion(candidate: Candidate, split: Split) -> CriterionResult:
    """EMSBE of `candidate.q` on `split.valid` (lower is better)."""
    part = split.valid
    q = candidate.q_values(part.observation)
    q_next = candidate.q_values(part.next_observation)
    score = float(bellman.td_error(jnp.asarray(q), jnp.asarray(q_next), jnp.asarray(part.action),
                                   jnp.asarray(part.reward), jnp.asarray(part.discount),
                                   split.gamma))
    return CriterionResult(criterion=NAME, score=score, higher_is_better=False)

"""Offline model selection: rank candidate Q-functions/policies from data alone.

- `candidate.Candidate`: a Q-function and/or greedy policy with its shapes;
  `split.split_by_episode`: held-out episodes; `criteria.CRITERIA`: TD error, SBV
  (Zitovsky et al. 2023), FQE, WIS, per-decision DR, srank, erank, dormant fraction, one
  interface `criterion(candidate, split) -> CriterionResult`.
- `metrics`: Spearman, DOPE regret@k, top-k, absolute error, SCOPE-RL type I/II errors,
  with bootstrap CIs over seeds and candidate subsets.
- `toy`, `mhealth`: the SBV paper's toy and mHealth environments with their candidate
  pools (`toy_study` runs either over seeds); `pool`: candidate pools
  trained with the suite's learners, stored as a versioned artefact; `study`: scores a
  pool and writes tables, metrics and plots.

Layering: may import data, agents, training, evaluation; only the CLI imports it.
"""

from rl_unplugged.selection.candidate import Candidate, check_compatible
from rl_unplugged.selection.criteria import CRITERIA, score_pool
from rl_unplugged.selection.result import CriterionResult, Ranking, rank_scores
from rl_unplugged.selection.split import Split, split_by_episode, split_by_ids

__all__ = ["CRITERIA", "Candidate", "CriterionResult", "Ranking", "Split", "check_compatible",
           "rank_scores", "score_pool", "split_by_episode", "split_by_ids"]

"""Aggregate statistics with rliable (Agarwal et al. 2021), seeded explicitly.

One data convention, rliable's: a dict of score matrices (num_runs, num_tasks) keyed
by entry. rliable 1.2's `StratifiedBootstrap` draws its resampling indices from
NumPy's *global* RNG (`np.random.choice` in `update_indices`) whatever `random_state`
says; the two subclasses below only redirect those draws to the bootstrap's own
`generator` (seeded from an explicit `np.random.Generator`), so intervals are
reproducible and nothing global is touched. The statistics are rliable's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rliable import library, metrics

from rl_unplugged.evaluation.normalisation import normalise
from rl_unplugged.evaluation.protocols import Protocol

METRICS = ("IQM", "Median", "Mean", "Optimality Gap")
DEFAULT_REPS = 2000


class SeededStratifiedBootstrap(library.StratifiedBootstrap):
    """rliable's stratified bootstrap over runs, drawing from `self.generator`."""

    def update_indices(self):
        indices = self.generator.integers(0, self._num_items, self._args_shape)
        if self._task_bootstrap:
            task_indices = self.generator.integers(0, self._num_tasks,
                                                   self._strata_indices[0].shape)
            return (indices, task_indices, *self._strata_indices[1:])
        return (indices, *self._strata_indices)


class SeededStratifiedIndependentBootstrap(library.StratifiedIndependentBootstrap):
    """rliable's independent stratified bootstrap, drawing from `self.generator`."""

    def _get_indices(self, num_runs, array_shape, strata_indices):
        return (self.generator.integers(0, num_runs, array_shape), *strata_indices)


def _aggregate_func(scores: np.ndarray) -> np.ndarray:
    return np.array([metrics.aggregate_iqm(scores), metrics.aggregate_median(scores),
                     metrics.aggregate_mean(scores), metrics.aggregate_optimality_gap(scores)])


def score_matrix(results: Mapping[str, Mapping], protocols: Mapping[str, Protocol],
                 tasks: Sequence[str]) -> np.ndarray:
    """Normalised score matrix (num_runs, num_tasks) of one submission's `results`.

    A run's score on a task is the normalised mean return over the protocol's
    evaluation episodes. Raises `MissingReferenceError` when a reference is pending.
    """
    columns = []
    for task_id in tasks:
        runs = results[task_id]["runs"]
        means = np.array([np.mean(np.asarray(r["returns"], np.float64)) for r in runs])
        columns.append(normalise(means, protocols[task_id]))
    return np.stack(columns, axis=1)


def interval_estimates(score_dict: Mapping[str, np.ndarray], *, rng: np.random.Generator,
                       reps: int = DEFAULT_REPS, confidence: float = 0.95
                       ) -> dict[str, dict[str, tuple[float, float, float]]]:
    """IQM, median, mean and optimality gap with stratified-bootstrap CIs.

    Args:
      score_dict: {entry: (num_runs, num_tasks) normalised scores}.
      rng: the source of the bootstrap's randomness (each entry gets a child seed).
      reps: bootstrap replications.
      confidence: interval coverage.

    Returns:
      {entry: {metric: (point, low, high)}} for metric in `METRICS`.
    """
    out = {}
    for key, scores in score_dict.items():
        scores = np.asarray(scores, np.float64)
        point = _aggregate_func(scores)
        bs = SeededStratifiedBootstrap(scores, seed=_child(rng))
        ci = bs.conf_int(_aggregate_func, reps=reps, size=confidence, method="percentile")
        out[key] = {m: (float(point[i]), float(ci[0, i]), float(ci[1, i]))
                    for i, m in enumerate(METRICS)}
    return out


def _child(rng: np.random.Generator) -> np.random.Generator:
    return np.random.default_rng(rng.integers(0, 2**63))


def performance_profiles(score_dict: Mapping[str, np.ndarray], taus: np.ndarray, *,
                         rng: np.random.Generator, reps: int = DEFAULT_REPS,
                         confidence: float = 0.95):
    """Score-distribution performance profiles (fraction of runs with score > tau).

    Returns:
      (profiles {entry: (len(taus),)}, cis {entry: (2, len(taus))}), as rliable's
      `create_performance_profile` does, but seeded.
    """
    taus = np.asarray(taus, np.float64)
    func = lambda scores: library.score_distributions(scores, taus)
    profiles, cis = {}, {}
    for key, scores in score_dict.items():
        scores = np.asarray(scores, np.float64)
        profiles[key] = func(scores)
        bs = SeededStratifiedBootstrap(scores, seed=_child(rng))
        cis[key] = bs.conf_int(func, reps=reps, size=confidence, method="percentile")
    return profiles, cis


def probability_of_improvement(score_dict: Mapping[str, np.ndarray], *,
                               rng: np.random.Generator, reps: int = DEFAULT_REPS,
                               confidence: float = 0.95
                               ) -> dict[tuple[str, str], tuple[float, float, float]]:
    """P(X > Y) for every ordered pair of entries, with stratified-bootstrap CIs.

    Returns:
      {(x, y): (point, low, high)} for x != y.
    """
    out = {}
    for x in score_dict:
        for y in score_dict:
            if x == y:
                continue
            sx, sy = (np.asarray(score_dict[k], np.float64) for k in (x, y))
            point = metrics.probability_of_improvement(sx, sy)
            bs = SeededStratifiedIndependentBootstrap(sx, sy, seed=_child(rng))
            ci = bs.conf_int(metrics.probability_of_improvement, reps=reps, size=confidence,
                             method="percentile")
            out[(x, y)] = (float(point), float(np.ravel(ci)[0]), float(np.ravel(ci)[1]))
    return out

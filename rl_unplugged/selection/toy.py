"""The SBV paper's toy environment, its FQI candidate pool and Monte-Carlo ground truth.

Zitovsky et al. (ICML 2023), Sec. 6.1. Everything here follows the paper's reference
code, github.com/jzitovsky/SBV, `toy_scripts/RFunctions.R` and
`toy_scripts/runExperiment.R` (function names below are theirs):

- Dynamics (`genmodS`): s_0 ~ N(0, I_4); the behaviour policy draws a ~ Bernoulli(0.5);
    s1' = sqrt(x) s1 + (a - 0.5) + sqrt(0.75 - x) e1,
    sk' = sqrt(4x - 2) sk + sqrt(3 - 4x) ek  (k = 2, 3, 4),  e ~ N(0, I_4);
  reward r = s1' (`U[, t-1] = S[, 1, t]`); no terminal states (trajectories of 25 steps).
  Only s1 carries reward and only it depends on a, so "always a = 1" is optimal.
- Data (`runExperiment.R`): 20 training trajectories (`trainData`, `n = 20; capT = 25`)
  and 5 validation trajectories (`valData`) from the behaviour policy.
- Candidates (`runExperiment.R` loop over `degrees` x `lambdas`, `QCompsRidge`): FQI on
  the training trajectories with Q(s, a) = [1, phi(s), a, a phi(s)] . theta, phi all
  monomials of s of degree 1..d (`arbPoly`), ridge penalty lambda * diag(0, sd(X_j)^2)
  (each column penalised by its variance, intercept free) on the normal equations divided
  by m, the number of rows of `getLongData` (n (T + 1): the trajectories' final states
  count, a quirk kept), theta_0 = 0, iterated until ||theta - theta_old|| <= 1e-4 or
  `maxiter` (50 for degree >= 5 with lambda = 1e-6, else 300) iterations. Degrees 1-7 x
  lambdas {1e-6, 1e-3, 0.01, 0.02, 0.1, 1, 3e5}, skipping lambda in {0.01, 1} for degree
  > 3 and lambda in {1e-3, 0.02} for degree != 3: 29 fits. Then "adding true optimal
  Q-function to mix": Q*(s, a) = c0 + c1 s1 + c2 a, least squares of the 100-step
  discounted return on (1, s1_0, a_0) over 10,000 online trajectories whose first action
  is uniform and the rest a = 1 (`QStar`): 30 candidates.
- True value (`evalBeta`): the average reward per step (undiscounted) of the candidate's
  greedy policy over 100-step trajectories from s_0 ~ N(0, I), 1,000 of them by default.
  Unlike `evalBeta` (fresh random numbers per candidate) the rollouts here share common
  random numbers across candidates, which only sharpens their differences.

Our changes where the R code has no counterpart: `ToyTask.noise` scales the noise terms
(1 = the reference), and greedy ties go to action 0 (R's `max.col` breaks them at
random; with continuous features they do not occur).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.split import Split, split_by_ids, time_major_transitions

STATE_DIM = 4
NUM_ACTIONS = 2
GAMMA = 0.9
HORIZON = 100  # `evalBeta`'s capT and the QStar rollouts' length.


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToyTask:
    """The toy task's settings (defaults: the reference code's)."""

    x: float = 0.6
    gamma: float = GAMMA
    train_trajectories: int = 20
    valid_trajectories: int = 5
    length: int = 25
    noise: float = 1.0

    def __post_init__(self):
        if not 0.5 <= self.x <= 0.75:
            raise ConfigError(f"toy task: x must be in [0.5, 0.75], got {self.x}")
        if self.valid_trajectories < 2 or self.train_trajectories < 2 or self.length < 2:
            raise ConfigError("toy task: at least 2 training and 2 validation trajectories "
                              "of 2 steps are needed")


# The registry of synthetic selection tasks (name -> default settings).
SYNTHETIC_TASKS = {"toy": ToyTask()}


def step(task: ToyTask, s: np.ndarray, a: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """`genmodS`'s transition.

    Args:
      s: (B, 4) states; a: (B,) actions in {0, 1}; noise: (B, 4) standard normal draws.

    Returns:
      (B, 4) next states; the reward is their first column.
    """
    x = task.x
    s1 = math.sqrt(x) * s[:, 0] + (a - 0.5) + task.noise * math.sqrt(0.75 - x) * noise[:, 0]
    rest = math.sqrt(4 * x - 2) * s[:, 1:] + task.noise * math.sqrt(3 - 4 * x) * noise[:, 1:]
    return np.concatenate([s1[:, None], rest], axis=1)


def generate(task: ToyTask, rng: np.random.Generator) -> tuple[Transitions, np.ndarray]:
    """Logs the behaviour policy (a ~ Bernoulli(0.5)); returns the transitions and the
    validation ids (the last `valid_trajectories` episodes)."""
    n_ep = task.train_trajectories + task.valid_trajectories
    s = rng.normal(size=(n_ep, STATE_DIM))
    obs, act, nxt = [], [], []
    for _ in range(task.length):
        a = rng.integers(0, NUM_ACTIONS, n_ep)
        s2 = step(task, s, a, rng.normal(size=(n_ep, STATE_DIM)))
        obs.append(s)
        act.append(a)
        nxt.append(s2)
        s = s2
    # The reward is s1' (`genmodS`).
    data = time_major_transitions(obs, act, [s2[:, 0] for s2 in nxt], nxt)
    return data, np.arange(task.train_trajectories, n_ep)


def make_split(task: ToyTask, rng: np.random.Generator) -> Split:
    data, valid_ids = generate(task, rng)
    return split_by_ids(data, valid_ids, gamma=task.gamma, num_actions=NUM_ACTIONS)


def monomials(s: np.ndarray, degree: int) -> np.ndarray:
    """`arbPoly(S, degree)` without its intercept: every monomial of s of total degree
    1..degree (the column order differs from R's, which the column-wise ridge ignores).

    Args:
      s: (B, 4) states.

    Returns:
      (B, C(4 + degree, 4) - 1) features.
    """
    s = np.asarray(s, np.float64)
    cols = [np.prod(s[:, list(idx)], axis=1)
            for d in range(1, degree + 1)
            for idx in itertools.combinations_with_replacement(range(s.shape[1]), d)]
    return np.stack(cols, axis=1)


def _design(s: np.ndarray, a: np.ndarray, degree: int) -> np.ndarray:
    """`model.matrix(~Phi + A * Phi)`: (B, 2 + 2P) columns [1, phi, a, a phi]."""
    phi = monomials(s, degree)
    a = np.asarray(a, np.float64)[:, None]
    return np.concatenate([np.ones_like(a), phi, a, a * phi], axis=1)


@dataclasses.dataclass(frozen=True)
class RidgeQ:
    """A `QCompsRidge` fit: Q(s, a) = [1, phi(s), a, a phi(s)] . theta."""

    degree: int
    theta: np.ndarray  # (2 + 2P,)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """(B, 4) states -> (B, 2) action values."""
        phi = monomials(obs, self.degree)
        k = phi.shape[1]
        base = self.theta[0] + phi @ self.theta[1:k + 1]
        return np.stack([base, base + self.theta[k + 1] + phi @ self.theta[k + 2:]], axis=1)


@dataclasses.dataclass(frozen=True)
class LinearQStar:
    """The reference's "true optimal Q-function": Q*(s, a) = c0 + c1 s1 + c2 a."""

    coef: np.ndarray  # (3,)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        base = self.coef[0] + self.coef[1] * np.asarray(obs, np.float64)[:, 0]
        return np.stack([base, base + self.coef[2]], axis=1)


def fit_ridge_fqi(data: Transitions, degree: int, lam: float, *, gamma: float = GAMMA,
                  maxiter: int = 300, tolerance: float = 1e-4,
                  num_rows: int | None = None) -> RidgeQ:
    """`QCompsRidge` (terminal = 0).

    Args:
      data: the training transitions (N of them).
      degree, lam: `arbPoly`'s degree and the ridge penalty lambda.
      maxiter, tolerance: stop after `maxiter` updates or when ||theta - theta_old|| <=
        `tolerance`.
      num_rows: the m dividing the normal equations; default N (the reference's
        n (T + 1) is passed by `fqi_candidates`).
    """
    X = _design(data.observation, data.action, degree)
    m = num_rows or len(X)
    scales = X[:, 1:].std(axis=0, ddof=1)  # R's sd.
    P = np.diag(np.concatenate([[0.0], scales ** 2]))
    hmat = np.linalg.solve(X.T @ X / m + lam * P, X.T / m)
    n = len(X)
    x_next = [_design(data.next_observation, np.full(n, a), degree)
              for a in range(NUM_ACTIONS)]
    reward = np.asarray(data.reward, np.float64)
    not_terminal = np.asarray(data.discount, np.float64)
    theta = np.zeros(X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):  # Some fits diverge, as in R.
        for _ in range(maxiter):
            q_max = np.maximum(x_next[0] @ theta, x_next[1] @ theta)
            new = hmat @ (reward + gamma * not_terminal * q_max)
            eps = np.linalg.norm(new - theta)
            theta = new
            if not eps > tolerance:  # NaN stops too.
                break
    return RidgeQ(degree, theta)


def fit_q_star(task: ToyTask, rng: np.random.Generator, *, rollouts: int = 10_000,
               horizon: int = HORIZON) -> LinearQStar:
    """`QStar`: regress the discounted return of "first action uniform, then a = 1" on
    (1, s1_0, a_0)."""
    s = rng.normal(size=(rollouts, STATE_DIM))
    s1_0, a0 = s[:, 0].copy(), rng.integers(0, NUM_ACTIONS, rollouts)
    ret, a = np.zeros(rollouts), a0
    for t in range(horizon):
        s = step(task, s, a, rng.normal(size=(rollouts, STATE_DIM)))
        ret += task.gamma ** t * s[:, 0]
        a = np.ones(rollouts, np.int64)
    X = np.stack([np.ones(rollouts), s1_0, a0], axis=1)
    return LinearQStar(np.linalg.lstsq(X, ret, rcond=None)[0])


@dataclasses.dataclass(frozen=True, kw_only=True)
class FQIGrid:
    """The candidates' grid (defaults: `runExperiment.R`'s 29 fits plus Q*).

    `reference_skips` drops the reference's pairs (lambda in {0.01, 1} for degree > 3,
    lambda in {1e-3, 0.02} for degree != 3)."""

    degrees: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    lambdas: tuple[float, ...] = (1e-6, 1e-3, 0.01, 0.02, 0.1, 1.0, 3e5)
    reference_skips: bool = True
    include_optimal: bool = True
    tolerance: float = 1e-4

    def __post_init__(self):
        if any(d < 1 for d in self.degrees) or any(lam < 0 for lam in self.lambdas):
            raise ConfigError("FQIGrid: degrees must be >= 1 and lambdas >= 0")

    def points(self) -> list[tuple[int, float, int]]:
        """(degree, lambda, maxiter) of each FQI fit, in the reference's order."""
        out = []
        for degree, lam in itertools.product(self.degrees, self.lambdas):
            if self.reference_skips and (
                    (degree > 3 and lam in (0.01, 1.0)) or (degree != 3 and lam in (1e-3, 0.02))):
                continue
            out.append((degree, lam, 50 if degree >= 5 and lam == 1e-6 else 300))
        return out


def fqi_candidates(split: Split, grid: FQIGrid | None = None, *, task: ToyTask | None = None,
                   rng: np.random.Generator | None = None) -> list[Candidate]:
    """The FQI fits on the training part, one per grid point, then Q* ("optimal", fitted
    on `task`'s online rollouts drawn from `rng`) if the grid includes it."""
    grid = grid or FQIGrid()
    data = split.train
    # getLongData's rows: every trajectory's T transitions plus its final state.
    num_rows = data.size + len(np.unique(data.episode_id))
    out = []
    for degree, lam, maxiter in grid.points():
        q = fit_ridge_fqi(data, degree, lam, gamma=split.gamma, maxiter=maxiter,
                          tolerance=grid.tolerance, num_rows=num_rows)
        out.append(Candidate(name=f"fqi_deg{degree}_lambda{lam:g}", num_actions=NUM_ACTIONS,
                             observation_shape=(STATE_DIM,), q=q,
                             metadata={"degree": degree, "lambda": lam, "maxiter": maxiter}))
    if grid.include_optimal:
        q_star = fit_q_star(task or ToyTask(), rng or np.random.default_rng(45))
        out.append(Candidate(name="optimal", num_actions=NUM_ACTIONS,
                             observation_shape=(STATE_DIM,), q=q_star,
                             metadata={"coef": q_star.coef.tolist()}))
    return out


def _average_reward(task: ToyTask, policy, s0: np.ndarray, noise: np.ndarray) -> float:
    s, total = s0, 0.0
    for t in range(len(noise)):
        s = step(task, s, policy(s, t), noise[t])
        total += s[:, 0].mean()
    return total / len(noise)


def true_values(task: ToyTask, candidates: list[Candidate], rng: np.random.Generator, *,
                rollouts: int = 1000, horizon: int = HORIZON) -> np.ndarray:
    """(M,) `evalBeta`: each candidate's greedy policy's average reward per step over
    `horizon` steps from s_0 ~ N(0, I), by Monte Carlo with common random numbers."""
    s0 = rng.normal(size=(rollouts, STATE_DIM))
    noise = rng.normal(size=(horizon, rollouts, STATE_DIM))
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray([_average_reward(task, lambda s, t, c=c: c.actions(s), s0, noise)
                           for c in candidates])


def random_value(task: ToyTask, rng: np.random.Generator, *, rollouts: int = 1000,
                 horizon: int = HORIZON) -> float:
    """`evalBeta` of the behaviour policy (a ~ Bernoulli(0.5))."""
    s0 = rng.normal(size=(rollouts, STATE_DIM))
    noise = rng.normal(size=(horizon, rollouts, STATE_DIM))
    actions = rng.integers(0, NUM_ACTIONS, (horizon, rollouts))
    return float(_average_reward(task, lambda s, t: actions[t], s0, noise))

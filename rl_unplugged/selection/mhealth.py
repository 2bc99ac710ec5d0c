"""The SBV paper's mHealth environment, its candidate pool and Monte-Carlo ground truth.

Zitovsky et al. (ICML 2023), Sec. 6.2, use the mobile-health simulation of Luckett et
al. (2020, JASA, "Estimating dynamic treatment regimes in mobile health using
V-learning"). This module follows the paper's reference code, github.com/jzitovsky/SBV,
`mHealth_scripts/RFunctions.R` (`genmodH`, `LSPISolve`, `QComputationsTrees`,
`minEMSBE`, `evalPolicy`) and `mHealth_scripts/runExperiment.R` (sizes and grids):

- state s = (s1, s2), action a in {0, 1}, noise e ~ N(0, 0.25^2 I):
    s1' = clip(0.75 (2a - 1) s1 + 0.25 s1 s2 + e1, -2, 2)
    s2' = clip(0.75 (1 - 2a) s2 + 0.25 s1 s2 + e2, -2, 2)
    r   = 2 s1' + s2' - 0.25 (2a - 1)
- s_0 ~ N(0, I), then 50 burn-in steps under the acting policy (stationarity); the
  behaviour policy is uniform (Bernoulli(0.5)); gamma = 0.9; no terminal states.
- data: 24 training and 6 validation trajectories of 25 transitions.
- candidates (21): LSPI (LSTDQ with policy iteration, from a random policy, <= 50
  iterations) on raw polynomial features of degree 1, 2, 3 x ridge penalties 0, 0.01,
  1, 100 (penalty scaled by each column's variance, intercepts unpenalised);
  tree-based FQI (100 iterations, one random forest of 50 trees per action) with mtry
  1, 2 x minimum node size 1, 5, 25; and the linear Q-functions of degree 1, 2, 3 that
  minimise the training EMSBE (BFGS from zero).
- true value: the average reward per step of 100 steps after the burn-in, over 1,000
  trajectories (`evalPolicy(...)$sumReturn / 100`): undiscounted, as the paper ranks.

Where this reads the reference code rather than copies it (my reading):
- ranger's random forests are scikit-learn's `RandomForestRegressor` (bootstrap,
  `max_features = mtry`, `min_samples_split = min.node.size + 1`: ranger splits only
  nodes larger than min.node.size); the trees, and so the candidates, differ in detail.
- the validation trajectories are drawn from each seed's generator; the reference
  script draws them with a fixed `set.seed(45)` (the same validation set for every seed).
- the greedy policy of a min-EMSBE fit is argmax_a Q(s, a) (action 1 iff its
  interaction terms are positive, as LSPI's), and a singular LSTDQ system (penalty 0,
  degree 3) is solved by least squares where R's `solve` would stop.
- the true values use common random numbers across candidates (as `toy.true_values`).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from scipy import optimize
from sklearn.ensemble import RandomForestRegressor
from sklearn.preprocessing import PolynomialFeatures

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.split import Split, split_by_ids, time_major_transitions

STATE_DIM = 2
NUM_ACTIONS = 2
GAMMA = 0.9
NAME = "mhealth"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MHealthTask:
    """The mHealth task's settings (defaults: the reference code's)."""

    gamma: float = GAMMA
    train_trajectories: int = 24
    valid_trajectories: int = 6
    length: int = 25
    burn_in: int = 50
    noise: float = 0.25
    eval_horizon: int = 100  # Steps averaged by the true value (after the burn-in).

    def __post_init__(self):
        if self.valid_trajectories < 2 or self.train_trajectories < 2 or self.length < 2:
            raise ConfigError("mhealth task: at least 2 training and 2 validation "
                              "trajectories of 2 steps are needed")
        if self.burn_in < 0 or self.eval_horizon < 1:
            raise ConfigError("mhealth task: burn_in must be >= 0 and eval_horizon >= 1")


def step(task: MHealthTask, s: np.ndarray, a: np.ndarray, noise: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """(next states (B, 2), rewards (B,)) from states (B, 2), actions (B,) and standard
    normal noise (B, 2)."""
    sign = 2.0 * np.asarray(a, np.float64) - 1.0
    cross = 0.25 * s[:, 0] * s[:, 1]
    nxt = np.stack([0.75 * sign * s[:, 0] + cross, -0.75 * sign * s[:, 1] + cross], 1)
    nxt = np.clip(nxt + task.noise * noise, -2.0, 2.0)
    return nxt, 2.0 * nxt[:, 0] + nxt[:, 1] - 0.25 * sign


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, NUM_ACTIONS, n)


def generate(task: MHealthTask, rng: np.random.Generator) -> tuple[Transitions, np.ndarray]:
    """Logs the uniform behaviour policy after the burn-in; returns the transitions and
    the validation ids (the last `valid_trajectories` episodes)."""
    n_ep = task.train_trajectories + task.valid_trajectories
    s = rng.normal(size=(n_ep, STATE_DIM))
    for _ in range(task.burn_in):
        s, _ = step(task, s, _uniform(rng, n_ep), rng.normal(size=(n_ep, STATE_DIM)))
    obs, act, rew, nxt = [], [], [], []
    for _ in range(task.length):
        a = _uniform(rng, n_ep)
        s2, r = step(task, s, a, rng.normal(size=(n_ep, STATE_DIM)))
        obs.append(s)
        act.append(a)
        rew.append(r)
        nxt.append(s2)
        s = s2
    data = time_major_transitions(obs, act, rew, nxt)
    return data, np.arange(task.train_trajectories, n_ep)


def make_split(task: MHealthTask, rng: np.random.Generator) -> Split:
    data, valid_ids = generate(task, rng)
    return split_by_ids(data, valid_ids, gamma=task.gamma, num_actions=NUM_ACTIONS)


def poly(s: np.ndarray, degree: int) -> np.ndarray:
    """Raw monomials of the state up to `degree`, with the constant (`arbPoly`)."""
    return PolynomialFeatures(degree).fit_transform(np.asarray(s, np.float64))


class LinearQ:
    """Q(s, a) = poly(s) . (w0 + a w1): the reference code's `cbind(Phi, A * Phi) %*% w`."""

    def __init__(self, degree: int, w: np.ndarray):
        self.degree, self.w = degree, np.asarray(w, np.float64)

    def __call__(self, s: np.ndarray) -> np.ndarray:
        phi = poly(s, self.degree)
        k = phi.shape[1]
        q0 = phi @ self.w[:k]
        return np.stack([q0, q0 + phi @ self.w[k:]], 1)


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # Singular without a penalty: least squares.
        return np.linalg.lstsq(a, b, rcond=None)[0]


def lspi(data: Transitions, *, degree: int, lam: float, gamma: float,
         rng: np.random.Generator, max_iterations: int = 50, tolerance: float = 1e-8
         ) -> LinearQ:
    """LSPI (`LSPISolve`): LSTDQ of the current greedy policy, then improve, from a
    uniformly random policy at the next states, until the weights stop moving."""
    phi, phi_n = poly(data.observation, degree), poly(data.next_observation, degree)
    a = data.action.astype(np.float64)[:, None]
    cont = (gamma * data.discount.astype(np.float64))[:, None]
    x = np.concatenate([phi, a * phi], 1)
    m, k = x.shape[0], phi.shape[1]
    penalty = np.concatenate([[0.0], x[:, 1:].std(0, ddof=1) ** 2])
    penalty[k] = 0.0  # Both intercepts unpenalised.
    p = np.diag(penalty)
    b = x.T @ data.reward.astype(np.float64) / m
    pi_n = rng.integers(0, 2, m).astype(np.float64)[:, None]
    w_old = np.full(2 * k, np.inf)
    for _ in range(max_iterations):
        x_n = np.concatenate([phi_n, pi_n * phi_n], 1)
        w = _solve(x.T @ (x - cont * x_n) / m + lam * p, b)
        moved = np.linalg.norm(w - w_old)
        pi_n = (phi_n @ w[k:] > 0).astype(np.float64)[:, None]
        w_old = w
        if moved <= tolerance:
            break
    return LinearQ(degree, w)


def min_emsbe(data: Transitions, *, degree: int, gamma: float) -> LinearQ:
    """The linear Q-function minimising the training EMSBE (`minEMSBE`, BFGS from 0)."""
    phi, phi_n = poly(data.observation, degree), poly(data.next_observation, degree)
    a = data.action.astype(np.float64)[:, None]
    x = np.concatenate([phi, a * phi], 1)
    k = phi.shape[1]
    r = data.reward.astype(np.float64)
    cont = gamma * data.discount.astype(np.float64)

    def loss(w):
        q0 = phi_n @ w[:k]
        q_next = np.maximum(q0, q0 + phi_n @ w[k:])
        return np.mean((r + cont * q_next - x @ w) ** 2)

    w = optimize.minimize(loss, np.zeros(2 * k), method="BFGS").x
    return LinearQ(degree, w)


class ForestQ:
    """Q(s, a) from one random forest per action."""

    def __init__(self, forests: list[RandomForestRegressor]):
        self.forests = forests

    def __call__(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, np.float64)
        return np.stack([f.predict(s) for f in self.forests], 1)


def fqi_trees(data: Transitions, *, mtry: int, min_node_size: int, gamma: float,
              seed: int, iterations: int = 100, trees: int = 50) -> ForestQ:
    """Tree-based FQI (`QComputationsTrees`, Ernst et al. 2005): `iterations - 1`
    backups, each refitting one forest per action on Y = r + gamma max_a' Q(s', a')."""
    s, s_n = data.observation.astype(np.float64), data.next_observation.astype(np.float64)
    r, cont = data.reward.astype(np.float64), gamma * data.discount.astype(np.float64)
    q_next = np.zeros((len(r), NUM_ACTIONS))
    forests: list[RandomForestRegressor] = []
    for it in range(max(iterations - 1, 1)):
        if it:
            q_next = ForestQ(forests)(s_n)
        y = r + cont * q_next.max(1)
        forests = [RandomForestRegressor(n_estimators=trees, max_features=mtry,
                                         min_samples_split=min_node_size + 1,
                                         random_state=seed).fit(s[data.action == a],
                                                                y[data.action == a])
                   for a in range(NUM_ACTIONS)]
    return ForestQ(forests)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CandidateGrid:
    """The candidates' grids (defaults: the reference code's; 21 candidates)."""

    lspi_degrees: tuple[int, ...] = (1, 2, 3)
    lspi_lambdas: tuple[float, ...] = (0.0, 1e-2, 1.0, 100.0)
    tree_mtry: tuple[int, ...] = (1, 2)
    tree_min_node_size: tuple[int, ...] = (1, 5, 25)
    tree_iterations: int = 100
    trees: int = 50
    emsbe_degrees: tuple[int, ...] = (1, 2, 3)


def candidates(split: Split, task: MHealthTask, seed: int, grid: CandidateGrid | None = None
               ) -> list[Candidate]:
    """The candidate pool fitted on the training trajectories."""
    grid = grid or CandidateGrid()
    data, gamma = split.train, task.gamma
    fits = []
    for degree, lam in itertools.product(grid.lspi_degrees, grid.lspi_lambdas):
        fits.append((f"lspi_deg{degree}_lambda{lam:g}",
                     lspi(data, degree=degree, lam=lam, gamma=gamma,
                          rng=np.random.default_rng([seed, degree, int(lam * 100)])),
                     {"family": "lspi", "degree": degree, "lambda": lam}))
    for mtry, mns in itertools.product(grid.tree_mtry, grid.tree_min_node_size):
        fits.append((f"fqi_trees_mtry{mtry}_mns{mns}",
                     fqi_trees(data, mtry=mtry, min_node_size=mns, gamma=gamma, seed=seed,
                               iterations=grid.tree_iterations, trees=grid.trees),
                     {"family": "fqi_trees", "mtry": mtry, "min_node_size": mns}))
    for degree in grid.emsbe_degrees:
        fits.append((f"min_emsbe_deg{degree}", min_emsbe(data, degree=degree, gamma=gamma),
                     {"family": "min_emsbe", "degree": degree}))
    return [Candidate(name=name, num_actions=NUM_ACTIONS, observation_shape=(STATE_DIM,),
                      q=q, metadata=meta) for name, q, meta in fits]


def _average_reward(task: MHealthTask, act, rng: np.random.Generator, rollouts: int
                    ) -> float:
    s = rng.normal(size=(rollouts, STATE_DIM))
    total = np.zeros(rollouts)
    for t in range(task.burn_in + task.eval_horizon):
        s, r = step(task, s, act(s), rng.normal(size=(rollouts, STATE_DIM)))
        if t >= task.burn_in:
            total += r
    return float(total.mean() / task.eval_horizon)


def true_values(task: MHealthTask, cands: list[Candidate], rng: np.random.Generator, *,
                rollouts: int = 1000) -> np.ndarray:
    """(M,) Monte-Carlo average reward per step of each candidate's greedy policy
    (`evalPolicy(...)$sumReturn / 100`), with common random numbers."""
    state = rng.bit_generator.state
    out = []
    for c in cands:
        rng.bit_generator.state = state  # The same starts and noise for every candidate.
        out.append(_average_reward(task, c.actions, rng, rollouts))
    return np.asarray(out)


def random_value(task: MHealthTask, rng: np.random.Generator, *, rollouts: int = 1000
                 ) -> float:
    """The uniform random (behaviour) policy's average reward per step."""
    return _average_reward(task, lambda s: _uniform(rng, len(s)), rng, rollouts)

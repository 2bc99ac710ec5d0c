"""The SBV paper's toy environment, its FQI candidate pool and Monte-Carlo ground truth.

Zitovsky et al. (ICML 2023), Sec. 6.1, describe a 4-d Gaussian state, a binary action,
a parameter x in [0.5, 0.75], gamma = 0.9, 20 training and 5 validation trajectories of
25 steps, reward s1' (the first coordinate of the next state), and candidates fitted by
FQI over a grid of polynomial degrees and ridge penalties. The paper's exact transition
equations were not available here (no network access to it); this module implements
that description with the following reading, stated so that it can be checked:

- s_0 ~ N(0, I_4); the behaviour policy picks a uniformly at random.
- s_{t+1} = x * P_a s_t + e_t, e_t ~ N(0, I_4), with P_0 = I and P_1 the cyclic shift
  (s1, s2, s3, s4) -> (s2, s3, s4, s1): action 1 brings the second coordinate into the
  rewarded slot. x is the persistence of the state: at x = 0.5 most of the next reward is
  noise, at 0.75 the state carries more of it. The noise variance makes Var(Y | s, a)
  large, the bias of the TD error that SBV removes.
- r_t = s_{t+1, 1}; no terminal states (trajectories are cut at 25 steps).
- True value of a candidate: the discounted return of its greedy policy from s_0, by
  Monte Carlo over 100-step rollouts (gamma^100 < 3e-5) with common random numbers
  across candidates (the same noise for all, so their differences are sharp).
- Candidates: FQI (`linear.fitted_iteration` with the max) on the 20 training
  trajectories, over degrees x ridge penalties x iteration counts.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax.numpy as jnp
import numpy as np

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import linear
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.fqe import FittedQ
from rl_unplugged.selection.split import Split, split_by_ids

STATE_DIM = 4
NUM_ACTIONS = 2
GAMMA = 0.9


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToyTask:
    """The toy task's settings (defaults: the paper's)."""

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
    """Next states (B, 4) from states (B, 4), actions (B,) and standard normal noise."""
    shifted = np.where(a[:, None] == 1, np.roll(s, -1, axis=1), s)
    return task.x * shifted + task.noise * noise


def generate(task: ToyTask, rng: np.random.Generator) -> tuple[Transitions, np.ndarray]:
    """Logs the uniform behaviour policy; returns the transitions and the validation ids
    (the last `valid_trajectories` episodes)."""
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
    # (T, E, ...) -> episode-major order.
    obs, act, nxt = (np.swapaxes(np.asarray(v), 0, 1) for v in (obs, act, nxt))
    n = n_ep * task.length
    data = Transitions(
        observation=obs.reshape(n, STATE_DIM).astype(np.float32),
        action=act.reshape(n).astype(np.int32),
        reward=nxt[..., 0].reshape(n).astype(np.float32),
        discount=np.ones(n, np.float32),
        next_observation=nxt.reshape(n, STATE_DIM).astype(np.float32),
        episode_id=np.repeat(np.arange(n_ep), task.length).astype(np.int64),
        step=np.tile(np.arange(task.length), n_ep).astype(np.int32),
        truncated=np.tile(np.arange(task.length) == task.length - 1, n_ep))
    return data, np.arange(task.train_trajectories, n_ep)


def make_split(task: ToyTask, rng: np.random.Generator) -> Split:
    data, valid_ids = generate(task, rng)
    return split_by_ids(data, valid_ids, gamma=task.gamma, num_actions=NUM_ACTIONS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FQIGrid:
    """The candidates' hyperparameter grid."""

    degrees: tuple[int, ...] = (1, 2, 3, 4)
    alphas: tuple[float, ...] = (1e-2, 1.0, 1e2)
    iterations: tuple[int, ...] = (3, 30)


def fqi_candidates(split: Split, grid: FQIGrid | None = None) -> list[Candidate]:
    """FQI fits on the training part, one candidate per grid point."""
    grid = grid or FQIGrid()
    data = split.train
    out = []
    for degree in grid.degrees:
        feats = linear.PolyFeatures.fit(data.observation, degree)
        phi, phi_next = jnp.asarray(feats(data.observation)), jnp.asarray(
            feats(data.next_observation))
        dummy = jnp.zeros((data.size, NUM_ACTIONS), jnp.float32)
        for alpha, iters in itertools.product(grid.alphas, grid.iterations):
            w = np.asarray(linear.fitted_iteration(
                phi, jnp.asarray(data.action), jnp.asarray(data.reward),
                jnp.asarray(data.discount), phi_next, dummy, gamma=split.gamma, lam=alpha,
                iterations=iters, greedy_max=True), np.float64)
            out.append(Candidate(name=f"fqi_deg{degree}_alpha{alpha:g}_iter{iters}",
                                 num_actions=NUM_ACTIONS, observation_shape=(STATE_DIM,),
                                 q=FittedQ(feats, w),
                                 metadata={"degree": degree, "alpha": alpha,
                                           "iterations": iters}))
    return out


def true_values(task: ToyTask, candidates: list[Candidate], rng: np.random.Generator, *,
                rollouts: int = 2000, horizon: int = 100) -> np.ndarray:
    """(M,) Monte-Carlo discounted returns of each candidate's greedy policy."""
    s0 = rng.normal(size=(rollouts, STATE_DIM))
    noise = rng.normal(size=(horizon, rollouts, STATE_DIM))
    values = []
    for c in candidates:
        s, total = s0, np.zeros(rollouts)
        for t in range(horizon):
            s = step(task, s, c.actions(s), noise[t])
            total += task.gamma ** t * s[:, 0]
        values.append(total.mean())
    return np.asarray(values)


def random_value(task: ToyTask, rng: np.random.Generator, *, rollouts: int = 2000,
                 horizon: int = 100) -> float:
    """Monte-Carlo value of the uniform random (behaviour) policy."""
    s, total = rng.normal(size=(rollouts, STATE_DIM)), np.zeros(rollouts)
    for t in range(horizon):
        s = step(task, s, rng.integers(0, NUM_ACTIONS, rollouts),
                 rng.normal(size=(rollouts, STATE_DIM)))
        total += task.gamma ** t * s[:, 0]
    return float(total.mean())

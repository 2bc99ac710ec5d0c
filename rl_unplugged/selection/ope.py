"""Importance-sampling estimators of a candidate's value: WIS and per-decision DR.

Both weigh the held-out episodes by the ratios rho_t = pi_e(a_t | s_t) / pi_b(a_t | s_t)
between the evaluated policy pi_e (the candidate's epsilon-greedy policy: a greedy
policy has zero probability on most logged actions) and a behaviour model pi_b learned
from the train split (a multinomial logistic-regression BC classifier, scikit-learn).

- WIS (Precup, Sutton, Singh 2000; weighted trajectory-wise IS, Voloshin et al. 2021
  eq. 4): V = sum_i w_i G_i / sum_i w_i with w_i = prod_t rho_t and G_i = sum_t
  gamma^t r_t.
- Per-decision doubly robust (Jiang & Li 2016, eq. 10; Thomas & Brunskill 2016, eq. 1):
  V = mean_i sum_t gamma^t [w_{0:t} r_t - (w_{0:t} Q(s_t, a_t) - w_{0:t-1} V(s_t))]
  with w_{0:t} = prod_{k<=t} rho_k, w_{0:-1} = 1, Q the FQE fit of pi_e and
  V(s) = sum_a pi_e(a | s) Q(s, a).

Only whole episodes (starting at step 0, steps contiguous) of the validation part count;
a split without one raises `ConfigError`. Higher is better (score = value).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.linear_model import LogisticRegression

from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import fqe as fqe_lib
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.linear import PolyFeatures
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split


@dataclasses.dataclass(frozen=True, kw_only=True)
class OPEConfig:
    """epsilon: exploration of the evaluated policy; min_behaviour_prob: floor on
    pi_b (bounds the ratios); regularisation: inverse L2 strength C of the BC classifier;
    fqe: the model used by DR."""

    epsilon: float = 0.1
    min_behaviour_prob: float = 1e-3
    regularisation: float = 1.0
    fqe: fqe_lib.FQEConfig | None = None

    def __post_init__(self):
        if not 0.0 < self.epsilon <= 1.0:
            raise ConfigError(f"OPEConfig: epsilon must be in (0, 1], got {self.epsilon}")
        if not 0.0 < self.min_behaviour_prob < 1.0:
            raise ConfigError("OPEConfig: min_behaviour_prob must be in (0, 1)")


@dataclasses.dataclass(frozen=True)
class BehaviourModel:
    """pi_b(a | s): a BC classifier over standardised flat states."""

    features: PolyFeatures
    model: LogisticRegression | None
    num_actions: int
    floor: float
    constant: np.ndarray  # (A,) used when the data show a single action.

    def probs(self, obs: np.ndarray) -> np.ndarray:
        if self.model is None:
            p = np.broadcast_to(self.constant, (len(obs), self.num_actions)).copy()
        else:
            p = np.zeros((len(obs), self.num_actions))
            p[:, self.model.classes_] = self.model.predict_proba(self.features(obs)[:, 1:])
        p = np.maximum(p, self.floor)
        return p / p.sum(-1, keepdims=True)


def fit_behaviour(data: Transitions, num_actions: int, config: OPEConfig) -> BehaviourModel:
    """Fits pi_b on `data` (states -> logged actions)."""
    feats = PolyFeatures.fit(data.observation, 1)
    counts = np.bincount(data.action, minlength=num_actions).astype(np.float64)
    if np.count_nonzero(counts) < 2:
        return BehaviourModel(feats, None, num_actions, config.min_behaviour_prob,
                              counts / counts.sum())
    model = LogisticRegression(C=config.regularisation, max_iter=500)
    model.fit(feats(data.observation)[:, 1:], data.action)
    return BehaviourModel(feats, model, num_actions, config.min_behaviour_prob,
                          counts / counts.sum())


@dataclasses.dataclass(frozen=True)
class Episodes:
    """Whole episodes padded to (E, T): index into the transitions and a validity mask."""

    index: np.ndarray  # (E, T) int, 0 where padded
    mask: np.ndarray  # (E, T) bool


def whole_episodes(data: Transitions) -> Episodes:
    """Groups transitions into whole episodes (step 0 first, contiguous steps)."""
    rows = []
    for eid in np.unique(data.episode_id):
        idx = np.flatnonzero(data.episode_id == eid)
        idx = idx[np.argsort(data.step[idx], kind="stable")]
        if data.step[idx[0]] == 0 and np.array_equal(data.step[idx], np.arange(len(idx))):
            rows.append(idx)
    if not rows:
        raise ConfigError("ope: the validation split holds no whole episode (from step 0); "
                          "WIS and DR need at least 1")
    horizon = max(len(r) for r in rows)
    index = np.zeros((len(rows), horizon), np.int64)
    mask = np.zeros((len(rows), horizon), bool)
    for i, r in enumerate(rows):
        index[i, :len(r)], mask[i, :len(r)] = r, True
    return Episodes(index, mask)


def wis(ratios: np.ndarray, rewards: np.ndarray, mask: np.ndarray, gamma: float) -> float:
    """Weighted (self-normalised) trajectory-wise IS; all arrays (E, T), padded with mask."""
    discounts = gamma ** np.arange(rewards.shape[1])
    weights = np.prod(np.where(mask, ratios, 1.0), axis=1)
    returns = np.sum(np.where(mask, rewards, 0.0) * discounts, axis=1)
    total = weights.sum()
    return float(np.sum(weights * returns) / total) if total > 0 else float("nan")


def per_decision_dr(ratios: np.ndarray, rewards: np.ndarray, q_sa: np.ndarray,
                    v_s: np.ndarray, mask: np.ndarray, gamma: float) -> float:
    """Per-decision doubly robust estimate; all arrays (E, T), padded with mask."""
    discounts = gamma ** np.arange(rewards.shape[1])
    w = np.cumprod(np.where(mask, ratios, 1.0), axis=1)
    w_prev = np.concatenate([np.ones((len(w), 1)), w[:, :-1]], axis=1)
    terms = w * rewards - (w * q_sa - w_prev * v_s)
    return float(np.mean(np.sum(np.where(mask, terms, 0.0) * discounts, axis=1)))


def _ratios(candidate: Candidate, split: Split, episodes: Episodes, config: OPEConfig,
            behaviour: BehaviourModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = split.valid
    flat = episodes.index.reshape(-1)
    obs, act = data.observation[flat], data.action[flat]
    pi_e = fqe_lib.policy_probs(candidate.actions(obs), split.num_actions, config.epsilon)
    pi_b = behaviour.probs(obs)
    rows = np.arange(len(flat))
    ratios = (pi_e[rows, act] / pi_b[rows, act]).reshape(episodes.index.shape)
    return ratios, data.reward[flat].reshape(episodes.index.shape), pi_e


def wis_criterion(candidate: Candidate, split: Split, config: OPEConfig | None = None,
                  behaviour: BehaviourModel | None = None) -> CriterionResult:
    """WIS estimate of the candidate's epsilon-greedy value on the validation episodes."""
    config = config or OPEConfig()
    episodes = whole_episodes(split.valid)
    behaviour = behaviour or fit_behaviour(split.train, split.num_actions, config)
    ratios, rewards, _ = _ratios(candidate, split, episodes, config, behaviour)
    value = wis(ratios, rewards, episodes.mask, split.gamma)
    return CriterionResult(criterion="wis", score=value, higher_is_better=True, value=value,
                           details={"episodes": int(len(episodes.index))})


def dr_config(config: OPEConfig) -> fqe_lib.FQEConfig:
    """The FQE settings of DR's model: config.fqe at the evaluated policy's epsilon."""
    return dataclasses.replace(config.fqe or fqe_lib.FQEConfig(), epsilon=config.epsilon)


def dr_criterion(candidate: Candidate, split: Split, config: OPEConfig | None = None,
                 behaviour: BehaviourModel | None = None,
                 model: fqe_lib.FittedQ | None = None) -> CriterionResult:
    """Per-decision DR estimate of the candidate's epsilon-greedy value (`model`: its FQE
    fit under `dr_config(config)`, when already made)."""
    config = config or OPEConfig()
    episodes = whole_episodes(split.valid)
    behaviour = behaviour or fit_behaviour(split.train, split.num_actions, config)
    ratios, rewards, pi_e = _ratios(candidate, split, episodes, config, behaviour)
    model = model or fqe_lib.fit_fqe(candidate, split, dr_config(config))
    flat = episodes.index.reshape(-1)
    q = model(split.valid.observation[flat])
    q_sa = q[np.arange(len(flat)), split.valid.action[flat]].reshape(episodes.index.shape)
    v_s = np.sum(pi_e * q, -1).reshape(episodes.index.shape)
    value = per_decision_dr(ratios, rewards, q_sa, v_s, episodes.mask, split.gamma)
    return CriterionResult(criterion="dr", score=value, higher_is_better=True, value=value,
                           details={"episodes": int(len(episodes.index))})

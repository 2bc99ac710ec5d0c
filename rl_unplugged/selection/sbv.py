"""Supervised Bellman Validation (SBV).

Zitovsky, Marchi, Agarwal, Kosorok (ICML 2023), "Revisiting Bellman Errors for Offline
Model Selection", Sec. 4 and Algorithm 1:

1. split the data by episode into train and validation (`split.split_by_episode`);
2. for each candidate Q, Bellman targets Y = r + gamma (1 - terminal) max_a' Q(s', a')
   (eq. 2);
3. regress Y on (s, a) over the train split; the regression's model family and
   hyperparameters are chosen by validation MSE against Y (here: ridge on polynomial
   features of every degree and penalty in the grid, one weight vector per action, with
   scikit-learn; and a neural "Bellman network", `bellman_network`);
4. SBV(Q) = mean over validation of (Q(s, a) - B(s, a))^2, an estimate of the MSBE
   E[(Q - B*Q)^2] (eq. 5) free of the Var(Y | s, a) term that biases the TD error.

Lower is better. `sbv_from_targets` scores many candidates at once (ridge fits are
multi-output, the network fits vmapped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import Ridge

from rl_unplugged.errors import ConfigError
from rl_unplugged.selection import bellman_network as bn
from rl_unplugged.selection.candidate import Candidate
from rl_unplugged.selection.linear import PolyFeatures
from rl_unplugged.selection.result import CriterionResult
from rl_unplugged.selection.split import Split

NAME = "sbv"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SBVConfig:
    """degrees x alphas: the ridge-on-polynomial-features grid; network: the Bellman
    network's settings (None leaves the network family out)."""

    degrees: tuple[int, ...] = (1, 2, 3)
    alphas: tuple[float, ...] = (1e-2, 1.0, 100.0)
    network: bn.BellmanNetworkConfig | None = dataclasses.field(
        default_factory=bn.BellmanNetworkConfig)

    def __post_init__(self):
        if not self.degrees and self.network is None:
            raise ConfigError("SBVConfig: no regression family (degrees empty, network None)")
        if any(d < 1 for d in self.degrees) or any(a <= 0 for a in self.alphas):
            raise ConfigError("SBVConfig: degrees must be >= 1 and alphas > 0")


def _ridge_families(split: Split, y_train: np.ndarray, degrees: Sequence[int],
                    alphas: Sequence[float]) -> dict[str, np.ndarray]:
    """family name -> (M, N_valid) predictions B(s, a) at the validation pairs."""
    out = {}
    a_tr, a_va = split.train.action, split.valid.action
    for degree in degrees:
        feats = PolyFeatures.fit(split.train.observation, degree)
        p_tr, p_va = feats(split.train.observation), feats(split.valid.observation)
        for alpha in alphas:
            pred = np.zeros((y_train.shape[1], len(a_va)))
            for a in range(split.num_actions):
                tr, va = a_tr == a, a_va == a
                if not va.any():
                    continue
                if not tr.any():  # No training pair took this action: predict the mean.
                    pred[:, va] = y_train.mean(0)[:, None]
                    continue
                model = Ridge(alpha=alpha).fit(p_tr[tr], y_train[tr])
                pred[:, va] = model.predict(p_va[va]).reshape(int(va.sum()), -1).T
            out[f"ridge_deg{degree}_alpha{alpha:g}"] = pred
    return out


def _network_family(split: Split, y_train: np.ndarray, config: bn.BellmanNetworkConfig
                    ) -> np.ndarray:
    feats = PolyFeatures.fit(split.train.observation, 1)
    x_tr = feats(split.train.observation)[:, 1:]  # Standardised states (no constant).
    x_va = feats(split.valid.observation)[:, 1:]
    pred = bn.fit_predict(x_tr, split.train.action, y_train, x_va, split.num_actions, config)
    return np.take_along_axis(pred, split.valid.action[None, :, None].astype(np.int64),
                              axis=-1)[..., 0]


def sbv_from_targets(split: Split, y_train: np.ndarray, y_valid: np.ndarray,
                     q_valid: np.ndarray, config: SBVConfig) -> list[CriterionResult]:
    """SBV of M candidates from their Bellman targets and Q(s, a) values.

    Args:
      split: the split (states and actions of both parts).
      y_train: (N_train, M) targets Y on the train part; y_valid: (N_valid, M) on the
        validation part; q_valid: (N_valid, M) Q(s, a) at the validation pairs.
      config: the regression families.

    Returns:
      One `CriterionResult` per candidate; details name the chosen family and its
      validation MSE.
    """
    # A candidate with non-finite targets or values gets a NaN score (reported, never
    # ranked); its column is zeroed so the shared multi-output fits stay finite.
    bad = ~(np.isfinite(y_train).all(0) & np.isfinite(y_valid).all(0)
            & np.isfinite(q_valid).all(0))
    y_train = np.where(bad[None], 0.0, y_train)
    y_valid = np.where(bad[None], 0.0, y_valid)
    families = _ridge_families(split, y_train, config.degrees, config.alphas)
    if config.network is not None:
        families["bellman_network"] = _network_family(split, y_train, config.network)
    names = list(families)
    preds = np.stack([families[n] for n in names])  # (F, M, N_valid)
    mse = np.mean((preds - y_valid.T[None]) ** 2, axis=-1)  # (F, M)
    mse = np.where(np.isfinite(mse), mse, np.inf)
    best = mse.argmin(0)
    results = []
    for m in range(y_train.shape[1]):
        b = preds[best[m], m]
        score = np.nan if bad[m] else float(np.mean((q_valid[:, m] - b) ** 2))
        results.append(CriterionResult(
            criterion=NAME, score=score, higher_is_better=False,
            details={"family": names[best[m]], "family_valid_mse": float(mse[best[m], m])}))
    return results


def targets(candidate: Candidate, split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Y on train (N_t,), Y on valid (N_v,), Q(s, a) on valid (N_v,)) of one candidate."""
    def y(part):
        q_next = candidate.q_values(part.next_observation)
        return part.reward + split.gamma * part.discount * q_next.max(-1)

    q_va = candidate.q_values(split.valid.observation)
    q_sa = np.take_along_axis(q_va, split.valid.action[:, None].astype(np.int64), -1)[:, 0]
    return y(split.train), y(split.valid), q_sa


def sbv_criterion(candidate: Candidate, split: Split, config: SBVConfig | None = None
                  ) -> CriterionResult:
    """SBV of one candidate (lower is better)."""
    y_tr, y_va, q_sa = targets(candidate, split)
    return sbv_from_targets(split, y_tr[:, None], y_va[:, None], q_sa[:, None],
                            config or SBVConfig())[0]


def sbv_pool(candidates: Sequence[Candidate], split: Split, config: SBVConfig | None = None
             ) -> list[CriterionResult]:
    """SBV of many candidates in one pass (same results as `sbv_criterion` on each, up to
    the network's shared random batches)."""
    cols = [targets(c, split) for c in candidates]
    y_tr, y_va, q_sa = (np.stack(x, axis=1) for x in zip(*cols, strict=True))
    return sbv_from_targets(split, y_tr, y_va, q_sa, config or SBVConfig())

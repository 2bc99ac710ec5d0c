"""IQL configuration (Kostrikov et al. 2022; defaults: the paper's MuJoCo locomotion values).

expectile 0.7, beta 3 and the weights' clip at 100 are the paper's. The paper pairs
them with a reward scaling on the locomotion datasets (its appendix B and the authors'
code): rewards times 1000 / (max - min episode return of the dataset).
`normalize_rewards=True` applies it (the loop fills `reward_scale` from the data, as it
fills observation statistics); it is off by default, so with rewards on another scale
beta weights advantages differently from the paper (e.g. episode returns spanning
~3,000 make beta 3 act like a beta about 3x the paper's). Q-values the learner reports
(`q_values`, the probes' Q statistics) are divided by the scale back into the
environment's reward units; its logged losses and `v_mean` are in scaled units.
The policy is the authors' (`policy="mean_gaussian"`, the default since 2026-11-26): a
Gaussian around tanh(mean) with one state-independent log-std, whose log-likelihood of
actions at the bounds stays finite. `policy="tanh_gaussian"` is the suite's tanh-Gaussian
with a state-dependent log-std (`actor_critic.GaussianPolicyNetwork`, shared with BC, CRR
and CQL), the default before; runs saved without the field load with it. On a Hopper
medium rebuild it made IQL slow early: 458 +- 191 at 20k updates against 2,026 +- 779
with the authors' policy (10 seeds; same data, critics and weights), while at 100k the
two tied, both above BC (`baselines/curves/hopper_medium_rebuild_iql_policy.json`). On
a Walker2d medium rebuild likewise at 20k: 430 +- 133 against 1,274 +- 331 (5 seeds),
and at 40k IQL with the authors' policy did not lead BC (1,370 against 1,433;
`baselines/curves/walker2d_medium_rebuild_iql_policy.json`).
Where the learner still differs from the authors' code: their actor's learning rate
decays on a cosine schedule (over 1M updates); here it is constant.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from rl_unplugged.agents.actor_critic import ActorCriticConfig
from rl_unplugged.errors import ConfigError

POLICIES = ("tanh_gaussian", "mean_gaussian")


@dataclasses.dataclass(frozen=True, kw_only=True)
class IQLConfig(ActorCriticConfig):
    """IQL: twin critics, a state-value network fitted by expectile regression, AWR policy."""

    TRACED = ActorCriticConfig.TRACED + ("expectile", "beta", "max_weight")
    # IQL runs saved before `policy` existed used the tanh-Gaussian.
    OLD_RUN_DEFAULTS = {**ActorCriticConfig.OLD_RUN_DEFAULTS, "policy": "tanh_gaussian"}

    expectile: float = 0.7  # tau of the expectile value loss, in (0, 1); 0.5 is SARSA's mean.
    beta: float = 3.0  # Inverse temperature of the advantage weights exp(beta * A).
    max_weight: float = 100.0  # Advantage weights are clipped at this value.
    # The paper's locomotion reward scaling (appendix B), off by default (see above).
    normalize_rewards: bool = False
    reward_scale: float | None = None  # Rewards are multiplied by it (set from the data).
    # "tanh_gaussian": the suite's tanh-squashed Gaussian with a state-dependent log-std
    # (`actor_critic.GaussianPolicyNetwork`); "mean_gaussian": the authors' Gaussian around
    # tanh(mean) with one state-independent log-std (`actor_critic.MeanGaussianPolicyNetwork`).
    policy: str = "mean_gaussian"

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile}")
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not self.max_weight > 0:
            raise ValueError(f"max_weight must be > 0, got {self.max_weight}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if self.reward_scale is not None:
            object.__setattr__(self, "reward_scale", float(self.reward_scale))
            if not (math.isfinite(self.reward_scale) and self.reward_scale > 0):
                raise ValueError(f"reward_scale must be finite and > 0, got "
                                 f"{self.reward_scale}")

    def needs_reward_scale(self) -> bool:
        """Scales rewards but has no scale yet (the loop computes it)."""
        return self.normalize_rewards and self.reward_scale is None

    def needs_data_statistics(self) -> bool:
        return super().needs_data_statistics() or self.needs_reward_scale()

    def with_data_statistics(self, data) -> IQLConfig:
        config = super().with_data_statistics(data)
        if self.needs_reward_scale():
            config = dataclasses.replace(config, reward_scale=locomotion_reward_scale(data))
        return config


def locomotion_reward_scale(data) -> float:
    """1000 / (max - min episode return) over `data`'s episodes (IQL's appendix B).

    Episodes are the transitions sharing an `episode_id`, summed as present in `data` (a
    subsample sums the transitions it holds, as the authors' code splits whatever
    dataset it is given).

    Raises:
      ConfigError: fewer than two episodes, or all with the same return.
    """
    ids, index = np.unique(np.asarray(data.episode_id), return_inverse=True)
    returns = np.bincount(index.ravel(), weights=np.asarray(data.reward, np.float64))
    spread = float(returns.max() - returns.min()) if len(returns) else 0.0
    if len(ids) < 2 or not spread > 0:
        raise ConfigError(f"normalize_rewards scales rewards by 1000 / (max - min episode "
                          f"return): the data's {len(ids)} episode(s) have a spread of "
                          f"{spread:g}; give reward_scale or turn normalize_rewards off")
    return 1000.0 / spread

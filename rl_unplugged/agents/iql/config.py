"""IQL configuration (defaults: the paper's MuJoCo locomotion settings, Kostrikov et al. 2022).

expectile 0.7, beta 3 and the weights' clip at 100 are the paper's. Where the learner
differs from the authors' code: the policy is the suite's tanh-Gaussian with a
state-dependent log-std (`actor_critic.GaussianPolicyNetwork`, shared with BC, CRR and
CQL), theirs a Gaussian around tanh(mean) with one state-independent log-std, so the
advantage-weighted log-likelihood of actions at the bounds differs; and their actor's
learning rate decays on a cosine schedule, here it is constant.
"""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.actor_critic import ActorCriticConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class IQLConfig(ActorCriticConfig):
    """IQL: twin critics, a state-value network fitted by expectile regression, AWR policy."""

    TRACED = ActorCriticConfig.TRACED + ("expectile", "beta", "max_weight")

    expectile: float = 0.7  # tau of the expectile value loss, in (0, 1); 0.5 is SARSA's mean.
    beta: float = 3.0  # Inverse temperature of the advantage weights exp(beta * A).
    max_weight: float = 100.0  # Advantage weights are clipped at this value.

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 < self.expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile}")
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not self.max_weight > 0:
            raise ValueError(f"max_weight must be > 0, got {self.max_weight}")

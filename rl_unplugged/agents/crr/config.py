"""CRR configuration (defaults: Wang et al. 2020's continuous-control settings).

beta 1, the exp filter's clip at 20 and m = 4 policy actions in the advantage's mean are
the paper's (and Acme's). Where the wiring differs from the paper's Algorithm 1 and
Acme's CRR: the target critic follows the critic by Polyak averaging (`tau`, as in the
suite's other actor-critics) rather than a copy every 100 updates, and the next actions
of the target are drawn from the online policy (there is no target policy); the critic's
target averages over the same m actions (Acme's uses one).
"""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.actor_critic import ActorCriticConfig

FILTERS = ("exp", "binary")
CRITICS = ("mse", "mog")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CRRConfig(ActorCriticConfig):
    """CRR: a critic of the policy, and the policy fitted to dataset actions weighted by
    f(A(s, a)), the advantage estimated with `num_action_samples` policy actions."""

    TRACED = ActorCriticConfig.TRACED + ("beta", "max_weight")

    num_critics: int = 1  # CRR trains one critic.
    filter: str = "exp"  # f: 'exp' (min(exp(A / beta), max_weight)) or 'binary' (1[A > 0]).
    beta: float = 1.0  # Temperature of the exp filter.
    max_weight: float = 20.0  # Clip of the exp filter's weights.
    num_action_samples: int = 4  # m: policy actions in the advantage's (and target's) mean.
    # 'mse': a scalar critic with a squared TD error; 'mog': a mixture-of-Gaussians
    # distributional critic (Shahriari et al. 2022) with a sample-based cross-entropy.
    critic: str = "mse"
    num_components: int = 5  # Mixture components of the MoG critic.
    # Samples of the target return distribution (MoG critic): as many at each of the m
    # actions, so a multiple of num_action_samples.
    num_target_samples: int = 20

    def __post_init__(self):
        super().__post_init__()
        if self.filter not in FILTERS:
            raise ValueError(f"unknown CRR filter {self.filter!r}; valid: {', '.join(FILTERS)}")
        if self.critic not in CRITICS:
            raise ValueError(f"unknown CRR critic {self.critic!r}; valid: {', '.join(CRITICS)}")
        if not self.beta > 0 or not self.max_weight > 0:
            raise ValueError(f"beta ({self.beta}) and max_weight ({self.max_weight}) must be > 0")
        for name in ("num_action_samples", "num_components", "num_target_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.critic == "mog" and self.num_target_samples % self.num_action_samples:
            raise ValueError(f"the MoG critic's num_target_samples ({self.num_target_samples}) "
                             "must be a multiple of num_action_samples "
                             f"({self.num_action_samples}): its target takes as many "
                             "samples at each policy action")

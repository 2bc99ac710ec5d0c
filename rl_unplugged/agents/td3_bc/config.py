"""TD3+BC configuration (defaults: the paper's, Fujimoto & Gu 2021, Table 2)."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.actor_critic import ActorCriticConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class TD3BCConfig(ActorCriticConfig):
    """TD3+BC: twin critics, a deterministic policy and lambda = alpha / mean|Q|."""

    TRACED = ActorCriticConfig.TRACED + ("alpha", "policy_noise", "noise_clip", "policy_freq")

    alpha: float = 2.5  # BC trade-off alpha in lambda = alpha / mean|Q(s, pi(s))|.
    policy_noise: float = 0.2  # Std of the target policy smoothing noise (normalised actions).
    noise_clip: float = 0.5  # The smoothing noise is clipped to [-noise_clip, noise_clip].
    policy_freq: int = 2  # Critic updates per policy (and target) update: the policy delay.
    normalize_observations: bool = True  # The paper's state normalisation (sec. 5).

    def __post_init__(self):
        super().__post_init__()
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if not self.policy_noise >= 0 or not self.noise_clip >= 0:
            raise ValueError(f"policy_noise ({self.policy_noise}) and noise_clip "
                             f"({self.noise_clip}) must be >= 0")
        if self.policy_freq < 1:
            raise ValueError(f"policy_freq must be >= 1, got {self.policy_freq}")

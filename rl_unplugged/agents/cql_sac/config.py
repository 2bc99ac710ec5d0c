"""CQL(SAC) configuration (Kumar et al. 2020, App. F).

alpha 5, 10 samples per action source and critic lr 3e-4 are the authors' MuJoCo
settings. Where the defaults differ from the authors' MuJoCo code
(`cql_mujoco_new.py` / `sac/cql.py`): the policy lr is 3e-4 (theirs 1e-4); the critic
target keeps SAC's entropy term (theirs: deterministic backup); the logsumexp uses
uniform and current-policy actions at s (theirs also adds policy actions at s'
evaluated at s, 3N in all); no behaviour-cloning warm start (theirs: 40k steps); the
critic is updated first, then the policy and the entropy temperature (the policy loss
with the temperature from before its update; theirs updates the policy and temperature
first). With 2N rather than 3N terms in the logsumexp (neither subtracts log of the
count), the penalty is lower by up to log 1.5 = 0.41: that much when the
importance-corrected terms (uniform: Q + A log 2; policy: Q - log pi) are alike (a
policy about as wide as uniform), about 0 once a narrow policy's log pi exceeds
-A log 2 and the uniform terms dominate the logsumexp. So in the Lagrange variant
`target_action_gap` 10 at alpha 5 asks about as much as 10 to 12 would in theirs,
depending on how wide the policy is.
"""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.actor_critic import ActorCriticConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class CQLSACConfig(ActorCriticConfig):
    """CQL(H): SAC (twin critics, tanh-Gaussian policy, automatic entropy tuning) plus
    alpha times the conservative penalty on each critic."""

    TRACED = ActorCriticConfig.TRACED + ("alpha", "target_action_gap")

    alpha: float = 5.0  # Weight of the conservative penalty (alpha, "min_q_weight").
    num_samples: int = 10  # Uniform and policy actions (each) in the logsumexp estimate.
    # Lagrange variant: alpha' >= 0 is tuned so the (alpha-weighted) penalty approaches
    # target_action_gap (the paper's tau; eq. 30, App. F).
    lagrange: bool = False
    target_action_gap: float = 10.0
    initial_temperature: float = 1.0  # SAC's entropy temperature before tuning.
    # SAC's target entropy; None: -A (Haarnoja et al. 2018b).
    target_entropy: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if not self.initial_temperature > 0:
            raise ValueError(f"initial_temperature must be > 0, got {self.initial_temperature}")

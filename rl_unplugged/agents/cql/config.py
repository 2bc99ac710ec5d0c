"""CQL configuration."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.common import ValueConfig

BASES = ("dqn", "qrdqn")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CQLConfig(ValueConfig):
    """CQL(H): a base TD learner plus alpha times the conservative penalty."""

    TRACED = ValueConfig.TRACED + ("alpha",)

    base: str = "dqn"  # TD learner: 'dqn' (double DQN) or 'qrdqn' (the CQL paper's Atari base).
    num_atoms: int = 200  # Quantiles when base == 'qrdqn'.
    # Penalty weight. 1 by default; the CQL paper uses 4 on small/narrow data (1% Atari).
    alpha: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if self.base not in BASES:
            raise ValueError(f"unknown CQL base {self.base!r}; valid: {', '.join(BASES)}")
        if self.num_atoms < 2:
            raise ValueError(f"num_atoms must be >= 2, got {self.num_atoms}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")

"""QR-DQN configuration."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.common import ValueConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class QRDQNConfig(ValueConfig):
    """QR-DQN: ValueConfig's fields plus the number of quantiles."""

    num_atoms: int = 200  # Quantiles per action (Dabney et al. 2018 and CQL's Atari base).

    def __post_init__(self):
        super().__post_init__()
        if self.num_atoms < 2:
            raise ValueError(f"num_atoms must be >= 2, got {self.num_atoms}")

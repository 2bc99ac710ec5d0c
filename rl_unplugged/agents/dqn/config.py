"""DQN configuration."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.common import ValueConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class DQNConfig(ValueConfig):
    """Offline double DQN: the fields of ValueConfig (discount, huber_kappa,
    target_update_period) and LearnerConfig (hidden, batch_size, learning_rate)."""

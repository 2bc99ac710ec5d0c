"""BC configuration."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.common import LearnerConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class BCConfig(LearnerConfig):
    """Behaviour cloning: hidden, batch_size, learning_rate, adam_eps (see LearnerConfig)."""

    TRACED = ("learning_rate",)

"""Continuous BC configuration."""

from __future__ import annotations

import dataclasses

from rl_unplugged.agents.actor_critic import ContinuousConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class BCGaussianConfig(ContinuousConfig):
    """BC with a tanh-Gaussian policy: hidden, batch_size, learning_rate, adam_eps, ReDo
    (see LearnerConfig), state normalisation (ContinuousConfig); `learning_rate` is the
    policy's."""

    TRACED = ("learning_rate",)

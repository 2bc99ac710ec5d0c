"""TFDS builder `rlu_classic`: gymnasium CartPole-v1, Acrobot-v1, MountainCar-v0.

Homepage and citation come from the registry's `DomainSpec` (see `base.RluBuilder`).
"""

from rl_unplugged.builders import base


class RluClassic(base.RluBuilder):
    """RL Unplugged-style classic-control datasets, logged locally."""

    name = "rlu_classic"
    BUILDER_CONFIGS = base.configs("rlu_classic")

"""TFDS builder `rlu_minatar`: the five MinAtar games (sticky actions 0.1).

Homepage and citation come from the registry's `DomainSpec` (see `base.RluBuilder`).
"""

from rl_unplugged.builders import base


class RluMinatar(base.RluBuilder):
    """RL Unplugged-style MinAtar datasets, logged locally."""

    name = "rlu_minatar"
    BUILDER_CONFIGS = base.configs("rlu_minatar")

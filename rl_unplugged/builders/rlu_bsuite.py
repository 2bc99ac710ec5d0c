"""TFDS builder `rlu_bsuite`: bsuite catch, cartpole and mountain_car.

Homepage and citation come from the registry's `DomainSpec` (see `base.RluBuilder`).
"""

from rl_unplugged.builders import base


class RluBsuite(base.RluBuilder):
    """RL Unplugged-style bsuite datasets, logged locally."""

    name = "rlu_bsuite"
    BUILDER_CONFIGS = base.configs("rlu_bsuite")

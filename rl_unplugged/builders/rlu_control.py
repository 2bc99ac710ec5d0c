"""TFDS builder `rlu_control`: DM Control Suite tasks (dm-control 1.0.50, MuJoCo 3.17.0).

Continuous actions (see `base.ContinuousRluBuilder`). Homepage and citation come from the
registry's `DomainSpec`.
"""

from rl_unplugged.builders import base


class RluControl(base.ContinuousRluBuilder):
    """RL Unplugged-style DM Control Suite datasets, logged locally."""

    name = "rlu_control"
    BUILDER_CONFIGS = base.configs("rlu_control")

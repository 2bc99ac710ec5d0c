"""TFDS builder `rlu_mujoco`: gymnasium MuJoCo v5 locomotion (HalfCheetah, Hopper, Walker2d).

Continuous actions (see `base.ContinuousRluBuilder`). Homepage and citation come from the
registry's `DomainSpec`.
"""

from rl_unplugged.builders import base


class RluMujoco(base.ContinuousRluBuilder):
    """RL Unplugged-style gymnasium MuJoCo datasets, logged locally."""

    name = "rlu_mujoco"
    BUILDER_CONFIGS = base.configs("rlu_mujoco")

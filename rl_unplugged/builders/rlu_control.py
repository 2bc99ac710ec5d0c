"""TFDS builder `rlu_control`: DM Control Suite tasks (dm-control 1.0.50, MuJoCo 3.17.0).

Continuous actions: steps hold (A,) float32 `action` and `mean_action` and a scalar
`action_noise_std` (see `base.RluBuilder`). Homepage and citation come from the
registry's `DomainSpec`.
"""

from typing import ClassVar

import tensorflow_datasets as tfds

from rl_unplugged.builders import base


class RluControl(base.RluBuilder):
    """RL Unplugged-style DM Control Suite datasets, logged locally."""

    name = "rlu_control"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {
        "1.0.0": "Initial release: replay (Gaussian action noise 0..0.5 beyond the D4PG "
                 "agent's own) and random levels, 3 runs per task, built locally from raw "
                 "logs; steps add `mean_action` and `action_noise_std`.",
    }
    BUILDER_CONFIGS = base.configs("rlu_control")

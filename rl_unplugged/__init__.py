"""rl_unplugged: offline RL datasets, baselines, evaluation and leaderboard.

When tensorflow_datasets is installed, importing the package registers the TFDS
builders `rlu_bsuite`, `rlu_minatar`, `rlu_classic`, `rlu_control` and `rlu_mujoco`
(this imports tensorflow_datasets, ~0.4 s, but not TensorFlow). Machines without it (the GPU
path) import nothing extra.
"""

import importlib.util as _importlib_util

__version__ = "0.1.0"

if _importlib_util.find_spec("tensorflow_datasets") is not None:
    from rl_unplugged import builders as _builders  # noqa: F401  (registers the builders)

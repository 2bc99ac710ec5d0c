"""TFDS builders of the suite's RLDS datasets; importing this module registers them.

`import rl_unplugged` imports it when tensorflow_datasets is installed, so
`tfds.load("rlu_bsuite/catch_noise0_run0")` works after `import rl_unplugged`.
Importing it does not import TensorFlow (tfds loads it lazily).
"""

from rl_unplugged.builders.base import RluBuilder, RluConfig, configs
from rl_unplugged.builders.rlu_bsuite import RluBsuite
from rl_unplugged.builders.rlu_classic import RluClassic
from rl_unplugged.builders.rlu_control import RluControl
from rl_unplugged.builders.rlu_minatar import RluMinatar
from rl_unplugged.builders.rlu_mujoco import RluMujoco

BUILDERS = {b.name: b for b in (RluBsuite, RluMinatar, RluClassic, RluControl, RluMujoco)}

__all__ = ["BUILDERS", "RluBsuite", "RluBuilder", "RluClassic", "RluConfig", "RluControl",
           "RluMinatar", "RluMujoco", "builder", "configs"]


def builder(name: str, data_dir=None, *, num_steps: int | None = None):
    """The tfds builder of dataset `name` ('rlu_bsuite/catch_noise0_run0').

    Args:
      name: a registered dataset name (unknown names raise KeyError with close names).
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      num_steps: override the spec's number of transitions (tiny builds for tests
        and notebooks); the data are stored under the same config name.
    """
    from rl_unplugged import paths, registry

    spec = registry.get_dataset(name)
    return BUILDERS[spec.builder_name](config=spec.config_name, num_steps=num_steps,
                                       data_dir=str(paths.data_dir(data_dir)))

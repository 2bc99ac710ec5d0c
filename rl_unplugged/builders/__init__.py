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
           "RluMinatar", "RluMujoco", "builder", "configs", "prepare"]


def builder(name: str, data_dir=None, *, num_steps: int | None = None, beam: bool = False):
    """The tfds builder of dataset `name` ('rlu_bsuite/catch_noise0_run0').

    Args:
      name: a registered dataset name (unknown names raise KeyError with close names).
      data_dir: data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets).
      num_steps: override the spec's number of transitions (tiny builds for tests
        and notebooks); the data are stored under the same config name.
      beam: prepare through TFDS's Beam support, one element per raw-log shard
        (`RluBuilder`).
    """
    from rl_unplugged import paths, registry

    spec = registry.get_dataset(name)
    return BUILDERS[spec.builder_name](config=spec.config_name, num_steps=num_steps, beam=beam,
                                       data_dir=str(paths.data_dir(data_dir)))


def prepare(name: str, data_dir=None, *, num_steps: int | None = None, beam: bool = False,
            download_config=None):
    """Prepares dataset `name` for TFDS from its raw log (generated if missing); returns
    the builder. `beam` and `download_config` as in `builder` and tfds's
    `download_and_prepare`.

    Raises:
      IncompatibleError: the dataset is already prepared, from another complete raw
        log of another episode count (tfds would skip it silently).
    """
    from rl_unplugged import paths
    from rl_unplugged.data.raw_log import read_manifest
    from rl_unplugged.errors import IncompatibleError

    b = builder(name, data_dir, num_steps=num_steps, beam=beam)
    if b.is_prepared():
        manifest = read_manifest(paths.raw_dir(b.spec, data_dir))
        prepared = b.info.splits["train"].num_examples
        # Without a complete log (deleted after preparing, or still being written) there
        # is nothing to compare with: the prepared dataset stands.
        if manifest and manifest["complete"] and prepared != manifest["num_episodes"]:
            raise IncompatibleError(
                f"{b.data_dir} was prepared from another raw log ({prepared:,} episodes; "
                f"the log has {manifest['num_episodes']:,}); delete it and build again")
    b.download_and_prepare(download_config=download_config)
    return b

"""Shared fixtures: tiny data under tmp_path, never fixed paths."""

import os

os.environ.setdefault("MUJOCO_GL", "disable")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from rl_unplugged.generation import numerics  # noqa: E402

# Datasets built by the tests compute as `rlu datasets build` does (one XLA thread): the
# same bytes on any core count, and the same as Beam workers' (fresh processes) builds.
numerics.configure()

TINY_DATASET = "rlu_bsuite/catch_noise10_run0"


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory):
    """(name, data_dir, RawLog): a 200-transition tfds dataset built by the real builder."""
    from rl_unplugged import builders
    from tests.helpers import tiny_spec, write_random_log

    root = tmp_path_factory.mktemp("tiny_data")
    log = write_random_log(tiny_spec(TINY_DATASET), root)
    builders.builder(TINY_DATASET, root, num_steps=tiny_spec(TINY_DATASET).num_steps
                     ).download_and_prepare()
    return TINY_DATASET, root, log

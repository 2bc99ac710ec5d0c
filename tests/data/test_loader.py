import numpy as np
import pytest

from rl_unplugged import paths, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data import loader
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import CorruptLogError, RawLogWriter

SPEC = registry.get_dataset("rlu_bsuite/catch_random_run0")


def write_log(root, num_episodes=5):
    obs_shape = SPEC.task.observation.shape
    w = RawLogWriter.open(paths.raw_dir(SPEC, root), dataset=SPEC.name,
                          observation_shape=obs_shape, observation_dtype="float32",
                          generation={"test": True})
    rng = np.random.default_rng(0)
    for i in range(num_episodes):
        n = 3 + i
        w.add(Episode.from_rollout(
            observations=rng.normal(size=(n + 1, *obs_shape)).astype(np.float32),
            actions=rng.integers(3, size=n), rewards=rng.normal(size=n),
            terminated=i % 2 == 0, metadata={F.EPISODE_ID: i}))
        if i % 2:
            w.commit()
    w.finalize()


def test_cached_load_equals_direct_conversion(tmp_path):
    write_log(tmp_path)
    direct = loader.load_transitions(SPEC, tmp_path, cache=False)
    first = loader.load_transitions(SPEC.name, tmp_path)
    again = loader.load_transitions(SPEC.name, tmp_path, mmap=True)
    assert direct.size == sum(3 + i for i in range(5))
    for a, b, c in zip(direct, first, again, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_missing_and_corrupted_datasets_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="rlu datasets build"):
        loader.load_transitions(SPEC, tmp_path)
    write_log(tmp_path)
    shard = paths.raw_dir(SPEC, tmp_path) / "shard-00001.steps.parquet"
    shard.write_bytes(b"garbage")
    with pytest.raises(CorruptLogError, match="shard-00001.steps.parquet"):
        loader.load_transitions(SPEC, tmp_path)

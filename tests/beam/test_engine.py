"""The one pipeline shape: results in element order, user errors as one line."""

import importlib.util

import pytest

from rl_unplugged import errors
from rl_unplugged.beam import engine
from rl_unplugged.data.raw_log import CorruptLogError

HAS_BEAM = importlib.util.find_spec("apache_beam") is not None
TWO_PROCESSES = "--direct_num_workers=2 --direct_running_mode=multi_processing"


def test_worker_errors_are_rebuilt_from_the_runners_text():
    text = ("Traceback (most recent call last):\n  ...\n"
            "rl_unplugged.data.raw_log.CorruptLogError: /d/shard-00001.steps.parquet: "
            "checksum mismatch (truncated or corrupted shard) [while running 'train/FlatMap']")
    rebuilt = engine.worker_error(RuntimeError(text))
    assert type(rebuilt) is CorruptLogError
    assert str(rebuilt) == ("/d/shard-00001.steps.parquet: checksum mismatch "
                            "(truncated or corrupted shard)")
    assert engine.worker_error(RuntimeError("ZeroDivisionError: division by zero")) is None
    # A name that is not one of the suite's user errors stays a bug (None).
    assert engine.worker_error(RuntimeError("rl_unplugged.cli.Nope: x")) is None


def square_or_fail(x):
    if x < 0:
        raise errors.CorruptDataError(f"element {x} is corrupt")
    return x * x


@pytest.mark.skipif(not HAS_BEAM, reason="apache-beam is not installed")
def test_runs_sharing_a_scratch_directory_keep_their_own_results(tmp_path):
    shared = tmp_path / "shared"
    a = engine.run_map(square_or_fail, [1, 2, 3], options=TWO_PROCESSES, scratch=shared)
    b = engine.run_map(square_or_fail, [4, 5], options=TWO_PROCESSES, scratch=shared)
    assert (a, b) == ([1, 4, 9], [16, 25])
    assert list(shared.iterdir()) == []  # Each call removed its own directory.
    with pytest.raises(errors.CorruptDataError, match="^element -1 is corrupt$"):
        engine.run_map(square_or_fail, [2, -1, -2], options=TWO_PROCESSES, scratch=shared)
    with pytest.raises(errors.ConfigError, match="is a URL"):
        engine.run_map(square_or_fail, [1], scratch="gs://bucket/scratch")

"""The one gate: `ensure_raw_log` with an injected generator."""

import pytest

from rl_unplugged import paths
from rl_unplugged.data import loader
from rl_unplugged.data.prepare import ensure_raw_log
from rl_unplugged.data.raw_log import CorruptLogError
from rl_unplugged.errors import NotFoundError
from tests.helpers import tiny_spec, write_random_log

NAME = "rlu_bsuite/catch_noise10_run0"


def test_missing_log_without_a_generator_is_refused(tmp_path):
    with pytest.raises(NotFoundError, match=f"rlu datasets build {NAME}.*generate="):
        ensure_raw_log(tiny_spec(NAME), tmp_path)
    with pytest.raises(NotFoundError, match="generation.generate"):
        loader.load_transitions(tiny_spec(NAME), tmp_path, build=True)


def test_unfinished_log_without_a_generator_is_refused(tmp_path):
    spec = tiny_spec(NAME)
    write_random_log(spec, tmp_path, finalize=False)
    with pytest.raises(CorruptLogError, match="did not finish"):
        ensure_raw_log(spec, tmp_path)


def test_injected_generator_is_called_only_when_needed(tmp_path):
    spec = tiny_spec(NAME, num_steps=50)
    calls = []

    def generate(spec_, data_dir, *, progress=None):
        calls.append((spec_.name, data_dir, progress))
        write_random_log(spec_, data_dir)

    log = ensure_raw_log(spec, tmp_path, generate=generate, progress=print)
    assert calls == [(NAME, tmp_path, print)]
    assert log.num_transitions >= 50
    ensure_raw_log(spec, tmp_path, generate=generate)  # Complete: not generated again.
    assert len(calls) == 1


def test_load_with_build_goes_through_the_gate(tmp_path):
    spec = tiny_spec(NAME, num_steps=50)
    calls = []

    def generate(spec_, data_dir, *, progress=None):
        calls.append(spec_.name)
        write_random_log(spec_, data_dir)

    data = loader.load_transitions(spec, tmp_path, build=True, generate=generate)
    assert calls == [NAME] and data.size >= 50
    short = tiny_spec(NAME, num_steps=10_000)  # The gate refuses a too-short log.
    with pytest.raises(CorruptLogError, match="needs 10000"):
        loader.load_transitions(short, tmp_path, build=True, generate=generate)
    assert paths.raw_dir(spec, tmp_path).exists()

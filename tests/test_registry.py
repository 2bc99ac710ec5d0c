import pytest

from rl_unplugged import registry
from rl_unplugged.specs import DatasetSpec


def test_every_domain_has_tasks_and_unique_names():
    assert set(registry.domains()) == {"bsuite", "minatar", "classic"}
    assert len(registry.TASKS) == 11
    names = [d.name for d in registry.datasets()]
    assert len(names) == len(set(names))


def test_dataset_names_round_trip():
    spec = registry.get_dataset("rlu_bsuite/catch_noise10_run2")
    assert (spec.task.name, spec.level, spec.noise, spec.run) == ("catch", "replay", 0.1, 2)
    assert registry.get_dataset("rlu_bsuite/catch_noise10_run2:1.0.0") is spec
    assert registry.expert_source(registry.get_dataset("rlu_minatar/breakout_expert_run1")).name \
        == "rlu_minatar/breakout_noise0_run1"


def test_unknown_names_list_close_ones():
    with pytest.raises(KeyError, match="rlu_bsuite/catch_noise10_run0"):
        registry.get_dataset("rlu_bsuite/cach_noise10_run0")
    with pytest.raises(KeyError, match="bsuite/catch"):
        registry.get_task("bsuite/catc")


def test_invalid_noise_or_run_fails_before_any_work():
    task = registry.get_task("bsuite/catch")
    with pytest.raises(ValueError, match="invalid noise"):
        DatasetSpec(task=task, level="replay", noise=0.15, run=0, num_steps=10)
    with pytest.raises(ValueError, match="invalid run"):
        DatasetSpec(task=task, level="replay", noise=0.1, run=99, num_steps=10)


def test_seed_is_a_pure_function_of_the_config():
    a = registry.get_dataset("rlu_bsuite/catch_noise0_run0")
    b = registry.get_dataset("rlu_bsuite/catch_noise0_run1")
    assert a.seed == a.replace(num_steps=5).seed != b.seed

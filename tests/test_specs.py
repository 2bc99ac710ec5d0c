"""ActionSpec, TaskSpec's action/observation generality and dict-observation flattening."""

import dataclasses

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.specs import ActionSpec, ArraySpec, TaskSpec, flatten_observation


def test_discrete_tasks_derive_their_action_spec():
    task = registry.get_task("bsuite/catch")
    assert task.action == ActionSpec.discrete(3)
    assert task.is_discrete and task.action.dtype == "int32" and task.action.size == 3


def test_continuous_action_spec():
    spec = ActionSpec.continuous([-1, -2], [1, 2])
    assert spec.shape == (2,) and spec.dtype == "float32" and spec.size == 2
    assert spec.minimum == (-1.0, -2.0) and not spec.is_discrete
    with pytest.raises(ValueError, match="minimum must be <= maximum"):
        ActionSpec.continuous([1], [-1])
    with pytest.raises(ValueError, match="maximum of length 2"):
        ActionSpec(kind="continuous", shape=(2,), minimum=(0, 0), maximum=(1,))
    with pytest.raises(ValueError, match="unknown action kind"):
        ActionSpec(kind="hybrid")


def test_continuous_task_and_observation_keys():
    base = registry.get_task("classic/cartpole")
    task = dataclasses.replace(base, num_actions=None, action=ActionSpec.continuous([-1], [1]),
                               observation=ArraySpec(shape=(5,), dtype="float32"),
                               observation_keys=(("position", (2,)), ("velocity", (3,))))
    assert not task.is_discrete and task.num_actions is None
    with pytest.raises(ValueError, match="cover 4 values"):
        dataclasses.replace(task, observation_keys=(("position", (2,)), ("velocity", (2,))))
    with pytest.raises(ValueError, match="no num_actions"):
        dataclasses.replace(task, num_actions=2)


def test_flatten_observation_follows_registered_order():
    keys = (("b", (2, 2)), ("a", (2,)))
    obs = {"a": np.array([5.0, 6.0]), "b": np.arange(4.0).reshape(2, 2)}
    np.testing.assert_array_equal(flatten_observation(obs, keys), [0, 1, 2, 3, 5, 6])
    batch = {"a": np.zeros((3, 2)), "b": np.ones((3, 2, 2))}
    assert flatten_observation(batch, keys).shape == (3, 6)
    with pytest.raises(ValueError, match="missing \\['a'\\]"):
        flatten_observation({"b": obs["b"]}, keys)
    with pytest.raises(ValueError, match="observation\\['a'\\] has shape"):
        flatten_observation({"a": np.zeros(3), "b": obs["b"]}, keys)


def test_task_spec_is_hashable_with_its_action():
    assert hash(registry.get_task("minatar/breakout"))
    assert isinstance(TaskSpec.__dataclass_fields__["action"].default, type(None))

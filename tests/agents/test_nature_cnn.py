"""The discrete learners train on Atari frame stacks through the Nature-CNN torso."""

import jax
import numpy as np
import pytest

from rl_unplugged import agents, networks, registry
from tests.agents.test_contract import batch_of, tiny_config
from tests.training.helpers import random_transitions

PONG = registry.get_task("atari/pong")


# Slow (a Nature-CNN compile per learner, ~5 s each); DQN also runs in the default suite
# through the training loop in tests/test_atari_end_to_end.py.
@pytest.mark.slow
@pytest.mark.parametrize("name", ["bc", "dqn", "cql", "qrdqn"])
def test_discrete_learner_updates_a_nature_cnn_on_uint8_frames(name):
    learner = agents.make_learner(name, PONG, tiny_config(name))
    assert isinstance(learner.network.torso, networks.NatureCNNTorso)
    data = random_transitions(PONG, 8)
    assert data.observation.dtype == np.uint8 and data.observation.shape[1:] == (84, 84, 4)
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    new, metrics = jax.jit(learner.update)(state, batch_of(data))
    assert all(np.isfinite(np.asarray(v)).all() for v in metrics.values()), metrics
    conv = state.params["params"]["torso"]["Conv_0"]["kernel"]
    assert conv.shape == (8, 8, 4, 32)
    assert not np.array_equal(conv, new.params["params"]["torso"]["Conv_0"]["kernel"])

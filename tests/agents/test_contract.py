"""One contract over every registered agent (d3rlpy style)."""

import jax
import numpy as np
import pytest

from rl_unplugged import agents, registry, training
from rl_unplugged.agents import Batch
from tests.agents.contract import check_update_contract
from tests.training.helpers import random_transitions

TINY = {"hidden": (16, 16), "batch_size": 8}
# The discrete learners (the continuous ones: test_continuous_contract.py).
CASES = [(name, "classic/cartpole") for name, spec in agents.AGENTS.items()
         if spec.action_kind == "discrete"] + [
    pytest.param("cql_qrdqn", "minatar/breakout", marks=pytest.mark.slow)]  # The CNN torso.


def tiny_config(name):
    fields = agents.get_agent(name).fields()
    return agents.make_config(name, **TINY, **({"num_atoms": 5} if "num_atoms" in fields else {}))


def batch_of(data, n=8):
    return Batch(*(jax.numpy.asarray(x[:n]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))


@pytest.mark.parametrize("name,task_id", CASES)
def test_agent_contract(name, task_id, tmp_path):
    task = registry.get_task(task_id)
    config = tiny_config(name)
    learner = agents.make_learner(name, task, config)
    data = random_transitions(task, 64)
    batch = batch_of(data)
    check_update_contract(learner, batch, params_atol=1e-6, loss_rtol=1e-5)

    # Through the loop and back: a batched greedy policy and Q-function.
    training.train(name, data, task, config=config, steps=4, log_every=2, probe_every=2,
                   checkpoint_every=2, probe_size=16, out_dir=tmp_path, make_plots=False)
    policy = training.load_policy(tmp_path)
    actions = policy(data.observation[:5])
    assert actions.shape == (5,) and actions.dtype == np.int64
    assert ((0 <= actions) & (actions < task.num_actions)).all()
    q = training.load_q_function(tmp_path, checkpoint=2)(data.observation[:5])
    assert q.shape == (5, task.num_actions) and np.isfinite(q).all()

"""Add your own agent: config, loss and learner defined here, registered in one line.

The toy agent is a myopic Q-learner: Q(s, a) regressed onto the immediate reward (the
Bellman error with gamma = 0). It goes through the suite's public API only: the
training loop, checkpoints and resume, policy loading and the protocol evaluator.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged import agents, errors, registry, training
from rl_unplugged.agents import common
from rl_unplugged.evaluation import evaluator, protocols
from tests.training.helpers import random_transitions

TASK = registry.get_task("bsuite/catch")


# config.py ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class MyopicConfig(common.LearnerConfig):
    """hidden, batch_size, learning_rate, adam_eps (see LearnerConfig), huber_kappa."""

    TRACED = ("learning_rate", "huber_kappa")  # May vary inside one vmapped ensemble.

    huber_kappa: float = 1.0  # Huber threshold of the reward regression.

    def __post_init__(self):
        super().__post_init__()
        if not self.huber_kappa > 0:
            raise ValueError(f"huber_kappa must be > 0, got {self.huber_kappa}")


# losses.py ----------------------------------------------------------------------------
def myopic_loss(q: jax.Array, action: jax.Array, reward: jax.Array, kappa: jax.Array
                ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """mean_b Huber(Q(s_b, a_b) - r_b): q (B, A), action (B,), reward (B,) -> scalar."""
    chosen = common.select_action_values(q, action)
    return jnp.mean(common.huber(chosen - reward, kappa)), {"q_chosen": jnp.mean(chosen)}


# learning.py --------------------------------------------------------------------------
def loss_fn(params, target_params, state, batch, key, *, network):
    del target_params, key
    q = network.apply(params, batch.observation).values
    return myopic_loss(q, batch.action, batch.reward, state.hparams["huber_kappa"])


def make_learner(config: MyopicConfig, task) -> common.Learner:
    # The shared factory: network, Adam, initial state and the SGD update come with it.
    return agents.build_learner("myopic", config, task, loss_fn,
                                lambda out: out.values, use_target=False)


MYOPIC = agents.AgentSpec(name="myopic", config_cls=MyopicConfig, factory=make_learner,
                          description="Q regressed onto the immediate reward (gamma = 0)")


@pytest.fixture
def myopic():
    spec = agents.register_agent(MYOPIC)  # The one line that adds an agent.
    yield spec
    del agents.AGENTS[spec.name]  # Leave the registry as the other tests expect it.


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state)]


def test_myopic_loss_by_hand():
    q = jnp.array([[1.0, 3.0], [0.0, 2.0]])
    loss, metrics = myopic_loss(q, jnp.array([1, 0]), jnp.array([2.0, 0.5]), 1.0)
    # Errors 3 - 2 = 1 and 0 - 0.5 = -0.5, both within kappa: (1/2 + 1/8) / 2.
    assert float(loss) == pytest.approx(0.3125)
    assert float(metrics["q_chosen"]) == pytest.approx(1.5)


def test_registered_agent_trains_resumes_and_is_evaluated(myopic, tmp_path):
    assert agents.get_agent("myopic") is myopic and myopic.action_kind == "discrete"
    with pytest.raises(KeyError, match="did you mean myopic"):
        agents.get_agent("myopc")
    with pytest.raises(errors.ConfigError, match="already registered"):
        agents.register_agent(MYOPIC)

    data = random_transitions(TASK, 128)
    kw = {"config": {"hidden": (16,), "batch_size": 8}, "seeds": (0, 1),
          "grid": {"huber_kappa": [0.5, 2.0]}, "log_every": 2, "probe_every": 4,
          "checkpoint_every": 4, "probe_size": 16, "make_plots": False}
    full = training.train("myopic", data, TASK, steps=8, out_dir=tmp_path / "full", **kw)
    assert {"loss", "grad_norm", "q_chosen"} <= set(full.metrics[0])
    assert training.list_checkpoints(tmp_path / "full") == [4, 8]

    # Stopped after 4 updates, then continued to 8 from the checkpoint.
    training.train("myopic", data, TASK, steps=4, out_dir=tmp_path / "split", **kw)
    resumed = training.train("myopic", data, TASK, steps=8, out_dir=tmp_path / "split", **kw)
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "updates_per_s"} for r in rows]
    assert strip(resumed.metrics) == strip(full.metrics) and resumed.probes == full.probes

    policy = evaluator.load_run_policy(tmp_path / "split", member=3)
    actions = policy(data.observation[:5])
    q = training.load_q_function(tmp_path / "full", member=3)(data.observation[:5])
    np.testing.assert_array_equal(actions, q.argmax(-1))
    protocol = protocols.get_protocol(TASK.id)
    record = evaluator.evaluate(policy, protocol, policy_source=str(tmp_path / "split"))
    assert record["task"] == TASK.id and len(record["returns"]) == protocol.num_episodes
    assert set(record["returns"]) <= {-1.0, 1.0}  # Catch: caught or missed, once.

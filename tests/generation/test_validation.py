import dataclasses

import numpy as np
import pytest

from rl_unplugged.generation import dqn, generate
from rl_unplugged.generation.replay_buffer import ReplayBuffer
from rl_unplugged.specs import ArraySpec
from tests.generation.helpers import tiny_spec, tiny_task


def test_not_a_spec_is_refused():
    with pytest.raises(TypeError, match="DatasetSpec"):
        generate("rlu_bsuite/catch_noise0_run0")


@pytest.mark.parametrize("changes, message", [
    ({"min_replay_size": 500, "replay_capacity": 100}, "min_replay_size"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"epsilon_decay_steps": -1}, "epsilon_decay_steps"),
])
def test_invalid_behaviour_fails_before_any_work(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        generate(tiny_spec(task=tiny_task(**changes)), tmp_path)
    assert not any(tmp_path.iterdir())


def test_observation_spec_mismatch_fails_before_any_work(tmp_path):
    task = dataclasses.replace(tiny_task(), observation=ArraySpec(shape=(5, 10), dtype="float32"))
    with pytest.raises(ValueError, match=r"environment observations are \(10, 5\)"):
        generate(tiny_spec(task=task), tmp_path)
    assert not any(tmp_path.iterdir())


def test_directory_of_another_generation_config_is_refused(tmp_path):
    generate(tiny_spec("random", num_steps=20), tmp_path)
    with pytest.raises(ValueError, match="another generation config"):
        generate(tiny_spec("random", num_steps=30), tmp_path)


def test_epsilon_decays_linearly():
    cfg = tiny_task(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100).behaviour
    assert [dqn.epsilon_at(cfg, t) for t in (0, 50, 100, 1000)] == pytest.approx(
        [1.0, 0.55, 0.1, 0.1])
    assert dqn.explore(np.array([0.2, 0.7]), 0.3, greedy=0, num_actions=3) == 2
    assert dqn.explore(np.array([0.4, 0.7]), 0.3, greedy=0, num_actions=3) == 0


def test_replay_ring_overwrites_oldest_and_round_trips():
    buf = ReplayBuffer(3, (1,), np.float32, seed=0, batch_size=4)
    for i in range(5):
        buf.add(np.array([i]), i, float(i), 1.0, np.array([i + 1]))
    assert buf.size == 3 and buf.position == 2
    np.testing.assert_array_equal(buf.action, [3, 4, 2])
    other = ReplayBuffer(3, (1,), np.float32, seed=0, batch_size=4)
    other.restore(buf.state())
    for a, b in zip(buf.sample(7), other.sample(7), strict=True):
        np.testing.assert_array_equal(a, b)
    assert set(buf.sample(0)[1]) <= {2, 3, 4}


def test_behaviour_loss_is_the_shared_double_dqn_loss_by_hand():
    """One linear layer, Q = o @ W: hand-computed targets and Huber loss, through the loss
    the behaviour agent binds (DQN's `loss_fn` with gamma and kappa fixed)."""
    import flax.linen as nn
    import jax.numpy as jnp

    from rl_unplugged.agents.dqn import learning as dqn_learning

    class Linear(nn.Module):
        @nn.compact
        def __call__(self, obs):
            return type("Out", (), {"values": nn.Dense(2, use_bias=False)(obs)})()

    net = Linear()
    online = {"params": {"Dense_0": {"kernel": jnp.array([[1.0, 0.0], [0.0, 2.0]])}}}
    target = {"params": {"Dense_0": {"kernel": jnp.array([[3.0, 0.0], [0.0, 5.0]])}}}
    batch = dqn.Batch(observation=jnp.array([[1.0, 1.0]]), action=jnp.array([0]),
                      reward=jnp.array([0.5]), discount=jnp.array([1.0]),
                      next_observation=jnp.array([[2.0, 0.0]]))

    def loss(b):
        return dqn_learning.loss_fn(online, target, None, b, None, network=net, gamma=0.9,
                                    kappa=dqn.HUBER_KAPPA)[0]

    # Online Q(o') = [2, 0] -> a* = 0; target Q(o', 0) = 6; y = 0.5 + 0.9 * 6 = 5.9.
    # Q(o, 0) = 1; |td| = 4.9 > 1: Huber = 4.9 - 0.5 = 4.4.
    assert float(loss(batch)) == pytest.approx(4.4)
    terminal = batch._replace(discount=jnp.array([0.0]))  # y = 0.5: Huber(0.5) = 0.125.
    assert float(loss(terminal)) == pytest.approx(0.125)


def test_behaviour_update_is_the_dqn_learners_update():
    """The behaviour agent's SGD step (flat params, fixed hyperparameters, plain Adam) equals
    the offline DQN learner's (pytree params, traced hyperparameters) on the same data."""
    import jax

    from rl_unplugged import agents
    from rl_unplugged.agents import common

    task = tiny_task(target_update_period=2)
    cfg = task.behaviour
    agent = dqn.Agent(task, cfg)
    learner = agents.make_learner("dqn", task, agents.make_config(
        "dqn", hidden=cfg.hidden, learning_rate=cfg.learning_rate, huber_kappa=dqn.HUBER_KAPPA,
        target_update_period=cfg.target_update_period, batch_size=cfg.batch_size))
    state = agent.init(jax.random.PRNGKey(3))
    other = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    other = common.new_state(agent.unravel(state.params), other.key,
                             common.make_optimizer(cfg.learning_rate), other.hparams)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2 * cfg.batch_size, *task.observation.shape)).astype(np.float32)
    batch = dqn.Batch(obs[:cfg.batch_size], rng.integers(3, size=cfg.batch_size, dtype=np.int32),
                      rng.normal(size=cfg.batch_size).astype(np.float32),
                      np.ones(cfg.batch_size, np.float32), obs[cfg.batch_size:])
    update = jax.jit(learner.update)
    for step in (1, 2, 3):
        state, metrics = agent.update(state, batch)
        other, other_metrics = update(other, batch)
        np.testing.assert_allclose(metrics["loss"], other_metrics["loss"], rtol=1e-5)
        for a, b in zip(jax.tree.leaves(agent.unravel(state.params)),
                        jax.tree.leaves(other.params), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        # Target copied after SGD step 2 (period 2), by both.
        assert bool(np.all(state.target_params == state.params)) == (step == 2)
    assert int(state.step) == 3 and state.hparams == {}
    np.testing.assert_array_equal(state.key, agent.init(jax.random.PRNGKey(3)).key)


def test_behaviour_agent_is_compiled_once_per_task_and_config():
    from rl_unplugged import compile_cache

    task = tiny_task()
    agent = dqn.agent_for(task, task.behaviour)
    assert dqn.agent_for(tiny_task(), tiny_task().behaviour) is agent  # Equal specs: one entry.
    assert dqn.agent_for(task, tiny_task(hidden=(8,)).behaviour) is not agent
    compile_cache.clear()
    assert dqn.agent_for(task, task.behaviour) is not agent

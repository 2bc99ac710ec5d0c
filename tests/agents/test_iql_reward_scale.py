"""IQL's locomotion reward scaling (Kostrikov et al. 2022, appendix B)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged import agents, errors, registry, training
from rl_unplugged.agents import Batch
from rl_unplugged.agents.iql.config import locomotion_reward_scale
from tests.agents.continuous_helpers import continuous_task, continuous_transitions

TINY = {"hidden": (16, 16), "batch_size": 8}


def test_the_scale_is_1000_over_the_spread_of_episode_returns():
    data = continuous_transitions(continuous_task(), 6)._replace(
        episode_id=np.array([7, 7, 3, 3, 9, 9]),
        reward=np.array([0.5, 0.5, 2.0, 3.0, -1.0, -2.0], np.float32))
    assert locomotion_reward_scale(data) == pytest.approx(1000 / (5.0 - -3.0))
    with pytest.raises(errors.ConfigError, match="1 episode"):
        locomotion_reward_scale(data._replace(episode_id=np.zeros(6, np.int64)))
    with pytest.raises(errors.ConfigError, match="spread of 0"):
        locomotion_reward_scale(data._replace(reward=np.ones(6, np.float32)))


def test_a_scaled_learner_is_the_plain_one_on_scaled_rewards_with_q_in_reward_units():
    task, scale = continuous_task(), 40.0
    data = continuous_transitions(task, 8)
    scaled = agents.make_learner("iql", task, agents.make_config("iql", **TINY,
                                                                 reward_scale=scale))
    plain = agents.make_learner("iql", task, agents.make_config("iql", **TINY))
    raw = Batch(*(jnp.asarray(x) for x in (data.observation, data.action, data.reward,
                                           data.discount, data.next_observation)))
    state = scaled.init(jax.random.PRNGKey(0), scaled.config.traced())
    a, b = state, state
    for _ in range(3):
        a, _ = jax.jit(scaled.update)(a, raw)
        b, _ = jax.jit(plain.update)(b, raw._replace(reward=scale * raw.reward))
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scaled.q_values(a.params, raw.observation),
                               plain.q_values(a.params, raw.observation) / scale, rtol=1e-5)
    # And the scale matters: unscaled rewards train another critic.
    c, _ = jax.jit(plain.update)(state, raw)
    assert not np.allclose(jax.tree.leaves(c.params["critic"])[0],
                           jax.tree.leaves(b.params["critic"])[0])


def test_the_loop_fills_the_scale_from_the_data_and_the_run_records_it(tmp_path, monkeypatch):
    task = continuous_task()
    monkeypatch.setitem(registry.TASKS, task.id, task)
    data = continuous_transitions(task, 64)  # Four episodes of 16.
    config = {**TINY, "normalize_rewards": True}
    assert not agents.make_config("iql").normalize_rewards  # Off by default.
    with pytest.raises(errors.ConfigError, match="pass data= to Plan.make"):
        training.Plan.make("iql", task, steps=2, config=config)
    with pytest.raises(errors.ConfigError, match="normalize_rewards needs reward_scale"):
        agents.make_learner("iql", task, agents.make_config("iql", **config))
    with pytest.raises(ValueError, match="reward_scale must be finite and > 0"):
        agents.make_config("iql", reward_scale=0.0)
    plan = training.Plan.make("iql", task, steps=2, config=config, data=data)
    assert plan.config.reward_scale == pytest.approx(locomotion_reward_scale(data))
    given = training.Plan.make("iql", task, steps=2, data=data,
                               config={**config, "reward_scale": 2.0})
    assert given.config.reward_scale == 2.0  # Given, kept.
    training.train("iql", data, task, steps=2, config=config, log_every=2,
                   out_dir=tmp_path / "run", make_plots=False)
    saved = training.read_config(tmp_path / "run")["config"]
    assert saved["reward_scale"] == pytest.approx(plan.config.reward_scale)
    assert saved["normalize_rewards"] is True

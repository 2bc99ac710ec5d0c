"""State normalisation of the continuous learners (TD3+BC's, Fujimoto & Gu 2021, sec. 5)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_unplugged import agents, errors, registry, training
from rl_unplugged.agents import Batch, actor_critic
from rl_unplugged.training import loop
from tests.agents.continuous_helpers import continuous_task, continuous_transitions

TINY = {"hidden": (16, 16), "batch_size": 8}


def skewed(task, num=64):
    """Observations far from zero mean / unit std, so normalisation changes them."""
    data = continuous_transitions(task, num)
    scale, shift = np.array([10.0, 0.5, 3.0], np.float32), np.array([5.0, -2.0, 0.0], np.float32)
    return data._replace(observation=data.observation * scale + shift,
                         next_observation=data.next_observation * scale + shift)


def test_observation_stats_by_hand():
    obs = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]], np.float32)
    mean, std = actor_critic.observation_stats(obs)
    assert mean == (3.0, 2.0)
    np.testing.assert_allclose(std, (np.sqrt(8 / 3), 0.0))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        actor_critic.observation_stats(np.zeros((0, 2)))


def test_td3_bc_normalises_by_default_and_other_learners_do_not():
    assert agents.make_config("td3_bc").normalize_observations
    for name in ("bc_gaussian", "cql_sac", "iql", "crr"):
        assert not agents.make_config(name).normalize_observations


def test_a_normalising_learner_equals_the_plain_one_on_normalised_inputs():
    """Update, act, q_values and the probes' features all see (s - mean) / (std + 1e-3)."""
    task = continuous_task()
    data = skewed(task)
    mean, std = actor_critic.observation_stats(data.observation)
    normed = agents.make_learner("td3_bc", task, agents.make_config(
        "td3_bc", **TINY, observation_mean=mean, observation_std=std))
    plain = agents.make_learner("td3_bc", task, agents.make_config(
        "td3_bc", **TINY, normalize_observations=False))

    def norm(x):
        return (x - np.asarray(mean, np.float32)) / (np.asarray(std, np.float32) + 1e-3)

    raw = Batch(*(jnp.asarray(x[:8]) for x in (data.observation, data.action, data.reward,
                                                data.discount, data.next_observation)))
    pre = raw._replace(observation=norm(raw.observation),
                       next_observation=norm(raw.next_observation))
    state = normed.init(jax.random.PRNGKey(0), normed.config.traced())
    # Two updates: the second moves the policy (policy_freq 2).
    a, b = state, state
    for _ in range(2):
        a, ma = jax.jit(normed.update)(a, raw)
        b, mb = jax.jit(plain.update)(b, pre)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ma["loss"], mb["loss"], rtol=1e-5)
    np.testing.assert_allclose(normed.act(a.params, raw.observation),
                               plain.act(a.params, pre.observation), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(normed.q_values(a.params, raw.observation),
                               plain.q_values(a.params, pre.observation), rtol=1e-5)
    np.testing.assert_allclose(normed.representation(a.params, raw.observation).representation,
                               plain.representation(a.params, pre.observation).representation,
                               rtol=1e-5, atol=1e-6)
    # And the statistics matter: the raw inputs give another action.
    assert not np.allclose(plain.act(a.params, raw.observation),
                           normed.act(a.params, raw.observation))


def test_statistics_are_required_and_checked():
    task = continuous_task()
    with pytest.raises(errors.ConfigError, match="observation_mean and observation_std"):
        agents.make_learner("td3_bc", task, agents.make_config("td3_bc", **TINY))
    with pytest.raises(errors.ConfigError, match="pass data= to Plan.make"):
        training.Plan.make("td3_bc", task, steps=2, config=TINY)
    with pytest.raises(errors.ConfigError, match="2 dims, the task"):
        agents.make_learner("td3_bc", task, agents.make_config(
            "td3_bc", observation_mean=(0.0, 0.0), observation_std=(1.0, 1.0)))
    with pytest.raises(ValueError, match="go together"):
        agents.make_config("td3_bc", observation_mean=(0.0,))
    with pytest.raises(ValueError, match=">= 0"):
        agents.make_config("td3_bc", observation_mean=(0.0,), observation_std=(-1.0,))
    with pytest.raises(ValueError, match="finite"):
        agents.make_config("td3_bc", observation_mean=(float("nan"),), observation_std=(1.0,))


def test_the_run_records_the_data_statistics_and_its_policy_uses_them(tmp_path, monkeypatch):
    task = continuous_task()
    monkeypatch.setitem(registry.TASKS, task.id, task)
    data = skewed(task)
    run = training.train("td3_bc", data, task, steps=4, config=TINY, log_every=2,
                         out_dir=tmp_path / "run", make_plots=False)
    config = training.read_config(tmp_path / "run")["config"]
    mean, std = actor_critic.observation_stats(data.observation)
    assert tuple(config["observation_mean"]) == mean
    assert tuple(config["observation_std"]) == std
    # The loaded policy is the trained learner's act on raw observations.
    learner = training.Plan.make("td3_bc", task, steps=4, config=TINY, data=data).learner
    params = jax.tree.map(lambda x: x[0], run.state.params)
    np.testing.assert_allclose(training.load_policy(tmp_path / "run")(data.observation[:5]),
                               learner.act(params, data.observation[:5]), rtol=1e-6)
    # Resuming recomputes the same statistics, so the same config: no mismatch.
    again = training.train("td3_bc", data, task, steps=4, config=TINY, log_every=2,
                           out_dir=tmp_path / "run", make_plots=False)
    assert int(again.state.step[0]) == 4
    # Statistics given explicitly are kept, not recomputed.
    given = dataclasses.replace(agents.make_config("td3_bc", **TINY),
                                observation_mean=(0.0,) * 3, observation_std=(1.0,) * 3)
    plan = training.Plan.make("td3_bc", task, steps=2, config=given, data=data)
    assert plan.config.observation_mean == (0.0,) * 3


def test_a_run_saved_before_normalisation_existed_loads_unnormalised(tmp_path, monkeypatch):
    import json

    task = continuous_task()
    monkeypatch.setitem(registry.TASKS, task.id, task)
    data = skewed(task)
    training.train("td3_bc", data, task, steps=2, log_every=2, out_dir=tmp_path / "run",
                   config={**TINY, "normalize_observations": False}, make_plots=False)
    before = training.load_policy(tmp_path / "run")(data.observation[:5])
    path = tmp_path / "run" / loop.CONFIG_FILE
    header = json.loads(path.read_text())
    for key in ("normalize_observations", "observation_mean", "observation_std"):
        del header["config"][key]
    path.write_text(json.dumps(header))
    np.testing.assert_array_equal(training.load_policy(tmp_path / "run")(data.observation[:5]),
                                  before)


def test_an_iql_run_saved_before_its_policy_field_loads_the_tanh_gaussian(tmp_path,
                                                                          monkeypatch):
    import json

    task = continuous_task()
    monkeypatch.setitem(registry.TASKS, task.id, task)
    data = skewed(task)
    training.train("iql", data, task, steps=2, log_every=2, out_dir=tmp_path / "run",
                   config={**TINY, "policy": "tanh_gaussian"}, make_plots=False)
    before = training.load_policy(tmp_path / "run")(data.observation[:5])
    path = tmp_path / "run" / loop.CONFIG_FILE
    header = json.loads(path.read_text())
    del header["config"]["policy"]  # As saved before the field existed.
    path.write_text(json.dumps(header))
    np.testing.assert_array_equal(training.load_policy(tmp_path / "run")(data.observation[:5]),
                                  before)
    # New runs default to the authors' policy (one state-independent log-std).
    training.train("iql", data, task, steps=2, log_every=2, out_dir=tmp_path / "new",
                   config=TINY, make_plots=False)
    assert json.loads((tmp_path / "new" / loop.CONFIG_FILE).read_text())["config"][
        "policy"] == "mean_gaussian"

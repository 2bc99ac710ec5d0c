"""The contract of the continuous learners: update, jit, checkpoint, vmapped ensembles over
seeds x a grid, bit-identical resume, probes, and evaluation of the loaded mean-action policy."""

import jax
import numpy as np
import pytest

from rl_unplugged import agents, checkpointing, errors, registry, training
from rl_unplugged.agents import Batch
from rl_unplugged.evaluation import evaluator, protocols
from tests.agents.continuous_helpers import continuous_task, continuous_transitions
from tests.agents.contract import check_update_contract
from tests.training.helpers import random_transitions

TINY = {"hidden": (16, 16), "batch_size": 8}
CONTINUOUS = [name for name, spec in agents.AGENTS.items() if spec.action_kind == "continuous"]
# (agent, config overrides, the traced hyperparameter of the 2-point grid).
# Variants of an algorithm already covered run with -m slow (minutes each on 2 cores).
SLOW = pytest.mark.slow
CASES = [
    ("bc_gaussian", {}, {"learning_rate": [1e-3, 3e-4]}),
    ("td3_bc", {}, {"alpha": [1.0, 2.5]}),
    ("cql_sac", {}, {"alpha": [1.0, 5.0]}),
    pytest.param("cql_sac", {"lagrange": True}, {"target_action_gap": [1.0, 10.0]},
                 marks=SLOW),
    ("iql", {}, {"expectile": [0.7, 0.9]}),
    # The authors' policy; with ReDo (its state-independent log-std is no layer).
    ("iql", {"policy": "mean_gaussian", "redo_every": 2}, {"beta": [1.0, 3.0]}),
    ("crr", {}, {"beta": [1.0, 2.0]}),  # The defaults: scalar critic, exp filter.
    ("crr", {"critic": "mog", "num_components": 3}, {"max_weight": [5.0, 20.0]}),
    pytest.param("crr", {"filter": "binary"}, {"beta": [1.0, 2.0]}, marks=SLOW),
    # ReDo inside the vmapped ensemble.
    pytest.param("td3_bc", {"redo_every": 2}, {"alpha": [1.0, 2.5]}, marks=SLOW),
]
KW = {"steps": 4, "log_every": 2, "probe_every": 2, "checkpoint_every": 2, "probe_size": 16,
      "make_plots": False}


def test_every_continuous_learner_is_covered():
    assert set(CONTINUOUS) == {"bc_gaussian", "td3_bc", "cql_sac", "iql", "crr"}
    assert {getattr(c, "values", c)[0] for c in CASES} == set(CONTINUOUS)


def leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


@pytest.fixture
def task(monkeypatch):
    task = continuous_task()
    # Run directories name their task; loading one back looks it up in the registry.
    monkeypatch.setitem(registry.TASKS, task.id, task)
    return task


@pytest.mark.parametrize("name,overrides,grid", CASES, ids=lambda x: str(x))
def test_continuous_learner_contract(name, overrides, grid, task, tmp_path, monkeypatch):
    config = agents.make_config(name, **TINY, **overrides)
    data = continuous_transitions(task)
    # Through the plan: it fills what the config takes from the data (TD3+BC's statistics).
    learner = training.Plan.make(name, task, steps=4, config=config, data=data).learner
    batch = Batch(*(jax.numpy.asarray(x[:8]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))
    check_update_contract(learner, batch, params_atol=1e-5, loss_rtol=1e-4)

    # A vmapped ensemble of 2 seeds x a 2-point grid, killed after its first checkpoint
    # and resumed, ends bit-identical to an uninterrupted run.
    run = {"config": config, "seeds": (0, 1), "grid": grid, **KW}
    full = training.train(name, data, task, out_dir=tmp_path / "full", **run)
    assert len(full.members) == 4 and int(full.state.step[0]) == 4
    save = checkpointing.save

    def save_then_die(run_dir, step, state):
        save(run_dir, step, state)
        if step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpointing, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        training.train(name, data, task, out_dir=tmp_path / "killed", **run)
    monkeypatch.setattr(checkpointing, "save", save)
    resumed = training.train(name, data, task, out_dir=tmp_path / "killed", **run)
    for a, b in zip(leaves(full.state), leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.probes == full.probes
    # Probes at updates 0, 2 and 4 for each member, finite.
    assert sorted({(r["step"], r["member"]) for r in full.probes}) == [
        (s, m) for s in (0, 2, 4) for m in range(4)]
    assert all(np.isfinite(r["srank"]) and np.isfinite(r["probe_q_mean"]) and
               "dormant_0.1" in r for r in full.probes)

    # The loaded policy is the deterministic (mean) action, inside the bounds; the
    # evaluator plays it under a (small) protocol of the continuous task.
    policy = training.load_policy(tmp_path / "full", member=3)
    actions = policy(data.observation[:5])
    assert actions.shape == (5, 1) and actions.dtype == np.float32
    assert ((-2.0 <= actions) & (actions <= 2.0)).all()
    q = training.load_q_function(tmp_path / "full")(data.observation[:5])
    assert q.shape == (5, 1) and np.isfinite(q).all()
    protocol = protocols.make_protocol(protocols.settings(task, num_episodes=2),
                                       {"random": {"value": -300.0}, "expert": {"value": 0.0}})
    result = evaluator.evaluate(evaluator.load_run_policy(tmp_path / "full"), protocol,
                                num_envs=2)
    assert len(result["returns"]) == 2 and result["lengths"] == [20, 20]


@pytest.mark.parametrize("name", CONTINUOUS)
def test_continuous_learner_refuses_discrete_data_naming_both(name):
    discrete = registry.get_task("classic/cartpole")
    with pytest.raises(errors.IncompatibleError,
                       match=f"{name} learns continuous actions but classic/cartpole has "
                             "discrete"):
        training.train(name, random_transitions(discrete), discrete, steps=2, config=TINY)


def test_discrete_learner_refuses_continuous_data_naming_both(task):
    with pytest.raises(errors.IncompatibleError,
                       match="dqn learns discrete actions but classic/pendulum has continuous"):
        training.train("dqn", continuous_transitions(task), task, steps=2)


def test_continuous_learner_refuses_discrete_actions_in_a_continuous_task(task):
    data = random_transitions(registry.get_task("classic/cartpole"))
    data = data._replace(observation=np.zeros((data.size, 3), np.float32),
                         next_observation=np.zeros((data.size, 3), np.float32))
    with pytest.raises(errors.IncompatibleError, match="td3_bc needs continuous actions"):
        training.train("td3_bc", data, task, steps=2, config=TINY)


def test_actor_critic_configs_validate():
    with pytest.raises(ValueError, match="tau"):
        agents.make_config("td3_bc", tau=0.0)
    with pytest.raises(ValueError, match="expectile"):
        agents.make_config("iql", expectile=1.0)
    with pytest.raises(ValueError, match="policy must be one of tanh_gaussian, mean_gaussian"):
        agents.make_config("iql", policy="gaussian")
    with pytest.raises(ValueError, match="filter"):
        agents.make_config("crr", filter="max")
    with pytest.raises(ValueError, match="critic"):
        agents.make_config("crr", critic="c51")
    with pytest.raises(ValueError, match="redo_every"):
        agents.make_config("cql_sac", redo_every=-1)


def test_cql_lagrange_multiplier_follows_the_action_gap(task):
    config = agents.make_config("cql_sac", **TINY, lagrange=True)
    learner = agents.make_learner("cql_sac", task, config)
    data = continuous_transitions(task)
    batch = Batch(*(jax.numpy.asarray(x[:8]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))
    update = jax.jit(learner.update)
    moved = []
    for gap in (1e3, -1e3):  # Penalty below the target gap: alpha' falls; above: it rises.
        hparams = {**learner.config.traced(), "target_action_gap": gap}
        state, metrics = update(learner.init(jax.random.PRNGKey(0), hparams), batch)
        assert float(metrics["alpha_prime"]) == 1.0  # exp(0) before the step.
        moved.append(float(state.params["log_alpha_prime"]))
    assert moved[0] < 0 < moved[1]

"""The batched evaluator: exact per-episode returns, batching-independent, checked."""

import dataclasses

import numpy as np
import pytest

from rl_unplugged import envs
from rl_unplugged.evaluation import evaluator, protocols
from rl_unplugged.evaluation.vector_env import VectorEnv
from rl_unplugged.specs import ActionSpec
from tests.envs.helpers import cartpole_swingup_task, pendulum_task


def _manual(task_id, seeds, policy):
    """Independent reference: one environment, one episode at a time."""
    env = envs.make(task_id)
    returns, lengths = [], []
    for seed in seeds:
        obs, ret, n = env.reset(seed), 0.0, 0
        while True:
            ts = env.step(int(policy(obs[None])[0]))
            ret, n, obs = ret + ts.reward, n + 1, ts.observation
            if ts.last:
                break
        returns.append(ret)
        lengths.append(n)
    return returns, lengths


def _pole_policy(obs):
    # Pushes toward the pole's lean: a state-dependent policy (classic CartPole).
    return (obs[:, 2] > 0).astype(np.int64)


@pytest.mark.parametrize("num_envs", [1, 3, 16])
def test_returns_equal_one_episode_at_a_time(num_envs):
    seeds = protocols.episode_seeds("classic/cartpole", 7)
    stats = evaluator.run_episodes(_pole_policy, "classic/cartpole", seeds, num_envs=num_envs)
    returns, lengths = _manual("classic/cartpole", seeds, _pole_policy)
    assert stats.returns.tolist() == returns
    assert stats.lengths.tolist() == lengths
    assert stats.steps == sum(lengths) and stats.seeds == seeds


def test_catch_returns_are_plus_or_minus_one_per_episode():
    seeds = [1, 2, 3, 4]
    stats = evaluator.run_episodes(lambda o: np.ones(len(o), np.int64), "bsuite/catch",
                                   seeds, num_envs=2)
    assert set(stats.returns.tolist()) <= {-1.0, 1.0}
    assert stats.lengths.tolist() == [9, 9, 9, 9]  # Catch's ball falls 9 rows.


def test_epsilon_actions_are_per_episode_and_batching_independent():
    seeds = protocols.episode_seeds("minatar/breakout", 6)
    zeros = lambda o: np.zeros(len(o), np.int64)
    a = evaluator.run_episodes(zeros, "minatar/breakout", seeds, num_envs=1, epsilon=1.0)
    b = evaluator.run_episodes(zeros, "minatar/breakout", seeds, num_envs=4, epsilon=1.0)
    c = evaluator.run_episodes(zeros, "minatar/breakout", seeds, num_envs=4, epsilon=0.0)
    assert a.returns.tolist() == b.returns.tolist()
    assert a.lengths.tolist() == b.lengths.tolist()
    assert a.lengths.tolist() != c.lengths.tolist()


def test_policy_sees_one_fixed_batch_shape():
    shapes = []

    def policy(obs):
        shapes.append(obs.shape)
        return np.zeros(len(obs), np.int64)

    evaluator.run_episodes(policy, "classic/cartpole", list(range(5)), num_envs=3)
    assert set(shapes) == {(3, 4)}


@pytest.mark.parametrize("policy, match", [
    (lambda o: np.zeros((len(o), 1), np.int64), "shape"),
    (lambda o: np.zeros(len(o), np.float32), "integers"),
    (lambda o: np.full(len(o), 7), "outside"),
])
def test_bad_policies_are_named(policy, match):
    with pytest.raises(ValueError, match=match):
        evaluator.run_episodes(policy, "classic/cartpole", [0, 1], num_envs=2)


def _small_protocol(task_id="classic/cartpole", n=4):
    return protocols.make_protocol(protocols.settings(task_id, num_episodes=n),
                                   {"random": {"value": 0.0}, "expert": {"value": 1.0}})


def test_evaluate_record_round_trip(tmp_path):
    p = _small_protocol()
    ds = p.datasets[0]
    result = evaluator.evaluate(_pole_policy, p, selection="offline", selection_name="sbv",
                                datasets={ds: "1.0.0"}, policy_source="test", num_envs=2)
    assert result["protocol"]["hash"] == p.hash
    assert result["protocol"]["settings_hash"] == p.settings_hash
    assert result["episode_seeds"] == p.episode_seeds
    assert result["returns"] == _manual("classic/cartpole", p.episode_seeds, _pole_policy)[0]
    assert result["mean_return"] == pytest.approx(np.mean(result["returns"]))
    assert result["selection"] == {"method": "offline", "name": "sbv"}
    assert result["datasets"] == {ds: "1.0.0"}
    import rl_unplugged
    assert result["package_version"] == rl_unplugged.__version__
    versions = result["versions"]
    assert versions["jax"] and versions["rl_unplugged"] == rl_unplugged.__version__
    path = evaluator.save_result(result, tmp_path / "r.json")
    assert evaluator.load_result(path) == result


def test_evaluate_refuses_bad_provenance():
    p = _small_protocol()
    zeros = lambda o: np.zeros(len(o), np.int64)
    with pytest.raises(ValueError, match="not allowed"):
        evaluator.evaluate(zeros, p, datasets=["rlu_bsuite/catch_noise0_run0"])
    with pytest.raises(ValueError, match="offline"):
        evaluator.evaluate(zeros, p, selection="offline")
    with pytest.raises(ValueError, match="selection"):
        evaluator.evaluate(zeros, p, selection="best_on_eval")


def test_vector_env_shares_one_observation_buffer():
    venv = VectorEnv("minatar/breakout", 2)
    venv.reset(0, 1)
    venv.reset(1, 2)
    assert venv.observations.shape == (2, 10, 10, 4) and venv.observations.dtype == np.uint8
    ts = venv.step(1, 0)
    assert np.array_equal(venv.observations[1], ts.observation)
    with pytest.raises(ValueError):
        VectorEnv("minatar/breakout", 0)


# Continuous actions ---------------------------------------------------------------------

def _manual_continuous(task, seeds, policy, epsilon):
    """Independent reference: one episode at a time, clipping and epsilon spelled out."""
    env = envs.make(task)
    low = np.asarray(task.action.minimum, np.float32)
    high = np.asarray(task.action.maximum, np.float32)
    returns, lengths = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        obs, ret, n = env.reset(seed), 0.0, 0
        while True:
            action = np.clip(np.asarray(policy(obs[None])[0], np.float32), low, high)
            u, random_action = rng.random(), rng.uniform(low, high).astype(np.float32)
            ts = env.step(random_action if u < epsilon else action)
            ret, n, obs = ret + ts.reward, n + 1, ts.observation
            if ts.last:
                break
        returns.append(ret)
        lengths.append(n)
    return returns, lengths


def _swing(obs):
    # State-dependent and often far outside the [-2, 2] torque bounds: exercises clipping.
    return (-10.0 * obs[:, 2:3]).astype(np.float32)


@pytest.mark.parametrize("epsilon", [0.0, 0.3, 1.0])
def test_continuous_returns_do_not_depend_on_num_envs(epsilon):
    task = pendulum_task(max_episode_steps=40)
    seeds = [5, 6, 7, 8, 9]
    one = evaluator.run_episodes(_swing, task, seeds, num_envs=1, epsilon=epsilon)
    four = evaluator.run_episodes(_swing, task, seeds, num_envs=4, epsilon=epsilon)
    assert one.returns.tolist() == four.returns.tolist()
    assert one.returns.tolist() == _manual_continuous(task, seeds, _swing, epsilon)[0]
    assert one.lengths.tolist() == [40] * 5


def test_dict_observation_returns_do_not_depend_on_num_envs():
    task = cartpole_swingup_task(max_episode_steps=30)
    seeds = [1, 2, 3, 4, 5]

    def policy(obs):  # Pushes along the pole's velocity (registered order: velocity first).
        return np.tanh(obs[:, 1:2]).astype(np.float32)

    one = evaluator.run_episodes(policy, task, seeds, num_envs=1, epsilon=0.5)
    four = evaluator.run_episodes(policy, task, seeds, num_envs=4, epsilon=0.5)
    assert one.returns.tolist() == four.returns.tolist()
    assert one.returns.tolist() == _manual_continuous(task, seeds, policy, 0.5)[0]


def test_random_continuous_policy_is_uniform_in_bounds(monkeypatch):
    task = pendulum_task(max_episode_steps=50)
    seen = []

    class Recording(VectorEnv):
        def step(self, index, action):
            seen.append(np.array(action))
            return super().step(index, action)

    monkeypatch.setattr(evaluator, "VectorEnv", Recording)
    zeros = lambda o: np.zeros((len(o), 1), np.float32)
    stats = evaluator.run_episodes(zeros, task, [0, 1, 2, 3], num_envs=2, epsilon=1.0)
    assert stats.lengths.tolist() == [50] * 4
    executed = np.concatenate(seen)
    assert executed.dtype == np.float32 and len(executed) == 200
    assert executed.min() >= -2.0 and executed.max() <= 2.0
    assert executed.std() == pytest.approx(4.0 / np.sqrt(12.0), rel=0.15)  # U[-2, 2].
    # Exactly the draws of the per-episode streams (random(), then uniform per step).
    expected = np.concatenate(_manual_actions(task, [0, 1, 2, 3], 50))
    np.testing.assert_array_equal(np.sort(executed), np.sort(expected))


def _manual_actions(task, seeds, steps):
    low = np.asarray(task.action.minimum, np.float32)
    high = np.asarray(task.action.maximum, np.float32)
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            rng.random()
            out.append(rng.uniform(low, high).astype(np.float32))
    return out


def test_out_of_bounds_actions_are_clipped():
    task = pendulum_task(max_episode_steps=20)
    big = lambda o: np.full((len(o), 1), 100.0)
    edge = lambda o: np.full((len(o), 1), 2.0, np.float32)
    a = evaluator.run_episodes(big, task, [3, 4], num_envs=2)
    b = evaluator.run_episodes(edge, task, [3, 4], num_envs=2)
    assert a.returns.tolist() == b.returns.tolist()


@pytest.mark.parametrize("policy, match", [
    (lambda o: np.full((len(o), 1), np.nan, np.float32), "non-finite"),
    (lambda o: np.where(np.arange(len(o))[:, None] == 1, np.inf, 0.0), r"non-finite.*\[1\]"),
    (lambda o: np.zeros(len(o), np.float32), "shape"),
    (lambda o: np.zeros((len(o), 2), np.float32), "shape"),
    (lambda o: np.zeros((len(o), 1), np.int64), "floats"),
])
def test_bad_continuous_policies_are_named(policy, match):
    with pytest.raises(ValueError, match=match):
        evaluator.run_episodes(policy, pendulum_task(), [0, 1], num_envs=2)


def test_epsilon_needs_finite_bounds():
    task = dataclasses.replace(pendulum_task(),
                               action=ActionSpec.continuous([-np.inf], [np.inf]))
    zeros = lambda o: np.zeros((len(o), 1), np.float32)
    with pytest.raises(ValueError, match="finite action bounds"):
        evaluator.run_episodes(zeros, task, [0], epsilon=0.1)

"""The batched evaluator: exact per-episode returns, batching-independent, checked."""

import numpy as np
import pytest

from rl_unplugged import envs
from rl_unplugged.evaluation import evaluator, protocols
from rl_unplugged.evaluation.vector_env import VectorEnv


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

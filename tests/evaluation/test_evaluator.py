"""The batched evaluator: exact per-episode returns, batching-independent, checked."""

import dataclasses
import json

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
        rng = _epsilon_stream(seed)
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
        rng = _epsilon_stream(seed)
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
@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    """A tiny BC run trained on bsuite/cartpole data (config.json records task, dataset)."""
    from rl_unplugged import agents, registry, training
    from tests.training.helpers import random_transitions

    task = registry.get_task("bsuite/cartpole")
    run_dir = tmp_path_factory.mktemp("run")
    training.train("bc", random_transitions(task, 64), task, steps=2, log_every=2,
                   probe_every=None, checkpoint_every=2, out_dir=run_dir,
                   config=agents.make_config("bc", hidden=(8,), batch_size=8),
                   dataset="rlu_bsuite/cartpole_noise0_run0", make_plots=False)
    return run_dir


def test_a_run_is_refused_on_another_task_before_any_rollout(cartpole_run, monkeypatch,
                                                             tmp_path, capsys):
    from rl_unplugged.cli import main
    from rl_unplugged.errors import IncompatibleError

    acrobot = protocols.get_protocol("classic/acrobot")
    with pytest.raises(IncompatibleError, match="trained on bsuite/cartpole"):
        evaluator.load_run_policy(cartpole_run, protocol=acrobot)
    policy = evaluator.load_run_policy(cartpole_run)
    assert (policy.task, policy.dataset) == ("bsuite/cartpole",
                                             "rlu_bsuite/cartpole_noise0_run0")

    def no_rollout(*args, **kwargs):
        raise AssertionError("rolled out before checking the run")
    monkeypatch.setattr(evaluator, "run_episodes", no_rollout)
    with pytest.raises(IncompatibleError) as info:
        evaluator.evaluate(policy, acrobot)
    assert "bsuite/cartpole" in str(info.value) and "classic/acrobot" in str(info.value)
    out = tmp_path / "r.json"
    assert main(["evaluate", "--task", "classic/acrobot", "--run-dir", str(cartpole_run),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bsuite/cartpole" in err and "classic/acrobot" in err
    assert not out.exists()


def test_a_run_is_evaluated_on_its_own_task(cartpole_run):
    p = _small_protocol("bsuite/cartpole", n=2)
    policy = evaluator.load_run_policy(cartpole_run, protocol=p)
    result = evaluator.evaluate(policy, p, datasets=[policy.dataset], num_envs=2)
    assert len(result["returns"]) == 2 and result["datasets"] == {policy.dataset: None}
    # The record names the training run, the latest checkpoint by its step included.
    from rl_unplugged import checkpointing

    digest = checkpointing.checkpoint_digest(cartpole_run, 2)
    assert len(digest) == 64 and digest in checkpointing.checkpoint_path(
        cartpole_run, 2).read_bytes()[:200].decode("ascii", "replace")
    assert result["training_run"] == {"run_dir": str(cartpole_run), "member": 0, "seed": 0,
                                      "grid": {}, "checkpoint": 2, "checkpoint_sha256": digest}


def test_results_records_are_checked_on_save_and_load(tmp_path):
    from rl_unplugged.errors import ConfigError

    p = _small_protocol("bsuite/catch")
    record = evaluator.evaluate(lambda o: np.ones(len(o), np.int64), p, num_envs=2)
    path = evaluator.save_result(record, tmp_path / "ok.json", p)
    assert evaluator.load_result(path, p) == record
    for returns, match in (([1.0, 1.0, 1e308, -1.0], r"\$\.returns\[2\]: 1e\+308 is outside "
                                                     r"the feasible range \[-1, 1\]"),
                           ([1.0, float("nan"), 1.0, 1.0], r"\$\.returns\[1\]: nan"),
                           ([1.0] * 5, r"\$\.returns: 5 returns for 4")):
        bad = {**record, "returns": returns}
        with pytest.raises(ConfigError, match=match):
            evaluator.save_result(bad, tmp_path / "bad.json", p)
        assert not (tmp_path / "bad.json").exists()
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=match + r".*bad\.json"):
            evaluator.load_result(tmp_path / "bad.json", p)
        (tmp_path / "bad.json").unlink()
    # Without its protocol (a custom one), a record is still held to the task's range.
    with pytest.raises(ConfigError, match=r"\$\.returns\[0\]: 3\.0 is outside"):
        evaluator.check_result({**record, "returns": [3.0, 1.0, 1.0, 1.0]})
    evaluator.check_result(record)
    with pytest.raises(ConfigError, match="settings"):
        evaluator.check_result(record, protocols.get_protocol("bsuite/catch"))


def test_a_broken_run_directory_is_named(tmp_path):
    from rl_unplugged.errors import ConfigError, CorruptDataError, NotFoundError

    with pytest.raises(NotFoundError, match="config.json"):
        evaluator.load_run_policy(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(CorruptDataError, match="config.json: not JSON"):
        evaluator.load_run_policy(tmp_path)
    (tmp_path / "config.json").write_text('{"agent": "bc"}')
    with pytest.raises(ConfigError, match="no 'task' recorded"):
        evaluator.load_run_policy(tmp_path)


def _epsilon_stream(seed):
    # Protocol v2: a child spawned from the episode seed (issue 8 defect 4).
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def test_epsilon_actions_do_not_share_the_environments_seed_stream(monkeypatch):
    # Issue 8 defect 4: v1 drew epsilon actions from default_rng(seed), the same PCG64
    # stream as env.reset(seed=seed); the executed random actions must come from the
    # spawned child stream instead.
    seen = []

    class Recording(VectorEnv):
        def step(self, index, action):
            seen.append((index, int(action)))
            return super().step(index, action)

    monkeypatch.setattr(evaluator, "VectorEnv", Recording)
    noop = lambda o: np.zeros(len(o), np.int64)
    stats = evaluator.run_episodes(noop, "bsuite/catch", [5], num_envs=1, epsilon=1.0)
    executed = [a for _, a in seen]
    assert len(executed) == stats.lengths[0] == 9

    def draws(rng):
        out = []
        for _ in executed:
            rng.random()
            out.append(int(rng.integers(3)))
        return out

    assert executed == draws(_epsilon_stream(5))
    assert executed != draws(np.random.default_rng(5))


def test_rescore_stamps_the_current_protocol_only_when_settings_are_unchanged(tmp_path,
                                                                            capsys):
    # A record evaluated before the references changed: same settings_hash, old hash.
    from rl_unplugged import cli
    from rl_unplugged.errors import IncompatibleError
    from rl_unplugged.leaderboard import board

    p = protocols.get_protocol("bsuite/catch")
    current = {"format": evaluator.RESULT_FORMAT, "task": p.task_id,
               "protocol": {"id": p.content["protocol"], "version": p.version,
                            "hash": p.hash, "settings_hash": p.settings_hash},
               "episode_seeds": p.episode_seeds, "returns": [1.0] * p.num_episodes,
               "selection": {"method": "final"}}
    old = {**current, "protocol": {**current["protocol"], "hash": "a" * 64}}
    with pytest.raises(IncompatibleError, match="evaluated under protocol aaaaaaaaaaaa"):
        board.submission_from_results([old] * 3, track="bsuite/catch", name="x")
    new = evaluator.rescore(old)
    assert new["protocol"] == current["protocol"] and new["returns"] == old["returns"]
    assert new["rescored_from"]["hash"] == "a" * 64 and "earlier" not in new["rescored_from"]
    assert old["protocol"]["hash"] == "a" * 64  # The input is not modified.
    # Rescored twice: the first rescoring is kept, so the chain reaches the original hash.
    again = evaluator.rescore({**new, "protocol": {**new["protocol"], "hash": "c" * 64}})
    assert again["rescored_from"]["hash"] == "c" * 64
    assert again["rescored_from"]["earlier"]["hash"] == "a" * 64
    board.submission_from_results([new] * 3, track="bsuite/catch", name="x",
                                  run_seeds=[0, 1, 2])
    assert evaluator.rescore(current) == current  # Already current: unchanged.
    other = {**old, "protocol": {**old["protocol"], "settings_hash": "b" * 64}}
    with pytest.raises(ValueError, match="settings"):
        evaluator.rescore(other)
    # The command rewrites every file, or none when one of them cannot be rescored.
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(old))
    bad.write_text(json.dumps({**old, "protocol": {**old["protocol"],
                                                   "settings_hash": "b" * 64}}))
    assert cli.main(["protocols", "rescore", str(good), str(bad)]) != 0
    assert "re-evaluate" in capsys.readouterr().err
    assert json.loads(good.read_text())["protocol"]["hash"] == "a" * 64
    assert cli.main(["protocols", "rescore", str(good)]) == 0
    assert json.loads(good.read_text())["protocol"]["hash"] == p.hash

"""The fallback SAC behaviour agent: its update, and raw logs it writes, resumes and loads."""

import jax
import numpy as np
import pytest

from rl_unplugged import generation
from rl_unplugged.agents import actor_critic
from rl_unplugged.agents.common import Batch
from rl_unplugged.data import fields as F
from rl_unplugged.errors import ConfigError
from rl_unplugged.generation import continuous, sac

from .test_continuous import _tiny


def _batch(seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch(rng.standard_normal((4, 5)).astype(np.float32),
                 rng.uniform(-1, 1, (4, 1)).astype(np.float32), np.ones(4, np.float32),
                 np.full(4, 0.9, np.float32), rng.standard_normal((4, 5)).astype(np.float32))


def test_sac_update_moves_every_part_and_polyak_averages_the_targets():
    task = _tiny("rlu_control/cartpole_swingup_noise20_run0").task
    config = sac.SACConfig(tau=0.25)
    agent = sac.agent_for(task, task.behaviour, config)
    state = agent.init(jax.random.PRNGKey(0))
    batch = _batch()
    one, out, metrics = agent.update_and_explore(state, batch, batch.observation[0])
    assert np.isfinite([float(v) for v in metrics.values()]).all()
    for part in ("policy", "critic", "log_alpha"):
        moved = jax.tree.map(lambda a, b: bool((a != b).any()), state.params[part],
                             one.params[part])
        assert all(jax.tree.leaves(moved)), part
    # theta' <- tau theta + (1 - tau) theta' after the update, with the initial targets.
    expected = jax.tree.map(lambda t, p: 0.75 * t + 0.25 * p, state.target_params["critic"],
                            one.params["critic"])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
                 one.target_params["critic"], expected)
    # explore: (deterministic action in the bounds, pre-tanh mean, std) of the new params.
    out = np.asarray(out)
    assert out.shape == (3, 1) and out[2, 0] > 0
    np.testing.assert_allclose(out[0], np.tanh(out[1]), rtol=1e-6)  # Bounds are [-1, 1].
    np.testing.assert_array_equal(out[0], agent.act(one.params, batch.observation[0]))
    np.testing.assert_allclose(agent.act_batch(one.params, batch.observation)[0], out[0],
                               rtol=1e-5)  # (A batch of 4 rounds its matmuls differently.)


def test_sac_critic_regresses_on_the_reward_when_the_discount_is_zero():
    # d = 0 (terminations): the soft target is r alone, whatever Q' and the temperature;
    # both critics fit the batch's rewards.
    task = _tiny("rlu_control/cartpole_swingup_noise20_run0").task
    agent = sac.agent_for(task, task.behaviour, sac.SACConfig(learning_rate=1e-2))
    state = agent.init(jax.random.PRNGKey(1))
    batch = _batch(1)._replace(reward=np.float32([1.0, -2.0, 3.0, 0.5]),
                               discount=np.zeros(4, np.float32))
    for _ in range(100):
        state, _ = agent.update(state, batch)
    q = agent.critics.values(state.params["critic"], batch.observation,
                             actor_critic.normalise(batch.action, task))
    np.testing.assert_allclose(q, np.broadcast_to(batch.reward, (2, 4)), atol=0.1)


def test_sac_config_is_validated():
    for bad in ({"learning_rate": 0}, {"tau": 0}, {"tau": 1.5}, {"initial_temperature": 0},
                {"n_step": 0}, {"num_critics": 0}, {"random_steps": -1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            sac.SACConfig(**bad)
    with pytest.raises(ConfigError, match="unknown behaviour agent config"):
        task = _tiny("rlu_control/cartpole_swingup_noise0_run0").task
        continuous.behaviour_agent(task, task.behaviour, object())


def test_sac_replay_log_samples_the_policy_and_loads_as_sac(tmp_path):
    spec = _tiny("rlu_control/cartpole_swingup_noise20_run0")
    log = continuous.generate(spec, tmp_path, config=sac.SACConfig())
    episodes = list(log.iter_episodes())
    assert len(episodes) == 4 and log.num_transitions == 12
    manifest = log.manifest
    assert "d4pg" not in manifest["generation"]
    assert manifest["generation"]["sac"] == {"learning_rate": 3e-4, "tau": 0.005,
                                             "initial_temperature": 1.0,
                                             "target_entropy": None, "n_step": 1,
                                             "num_critics": 2, "random_steps": 0}
    # n = 1: transitions enter the buffer each step; updates from step 4 (the warm-up).
    assert manifest["checkpoints"][-1]["sgd_steps"] == 9
    for ep in episodes:
        steps = ep.steps
        np.testing.assert_array_equal(steps[F.ACTION_NOISE_STD],
                                      np.float32([0.2, 0.2, 0.2, 0]))
        executed, mean = steps[F.ACTION][:3], steps[F.MEAN_ACTION][:3]
        assert (np.abs(executed) <= 1).all() and (np.abs(mean) <= 1).all()
        assert not np.array_equal(executed, mean)
    # The checkpoints load as SAC's; their mean action is what the log recorded after them.
    agent, params, info = continuous.load_checkpoint(log.directory, 0)
    assert isinstance(agent, sac.Agent) and set(params) == {"policy", "critic", "log_alpha"}
    first_after = episodes[info["last_episode"] + 1]
    assert first_after.metadata[F.CHECKPOINT] == 0
    curve = continuous.learning_curve(log.directory, num_episodes=2, task=spec.task)
    assert [r["checkpoint"] for r in curve] == [0, 1]
    assert all(0 <= r["mean_action_return"] <= 3 for r in curve)
    # The same registered name with the D4PG is another generation config: refused;
    # generation.generate (the registry's door) builds the D4PG elsewhere.
    with pytest.raises(ValueError, match="generation config"):
        continuous.generate(spec, tmp_path)
    assert "d4pg" in generation.generate(spec, tmp_path / "d4pg").manifest["generation"]


def test_sac_random_steps_act_uniformly_and_hold_back_the_updates(tmp_path):
    # The first `random_steps` steps execute uniform actions in the bounds (from the
    # episode's generator), not the policy's sample; updates start once they are all in
    # the replay (the authors' initial exploration). 4 episodes of 3 steps, warm-up 4:
    # updates are sampled after steps 5..12 (8), not 4..12 (9).
    spec = _tiny("rlu_control/cartpole_swingup_noise0_run0")
    log = continuous.generate(spec, tmp_path / "r", config=sac.SACConfig(random_steps=5))
    base = continuous.generate(spec, tmp_path / "b", config=sac.SACConfig())
    assert log.manifest["generation"]["sac"]["random_steps"] == 5
    assert log.manifest["checkpoints"][-1]["sgd_steps"] == 8
    assert base.manifest["checkpoints"][-1]["sgd_steps"] == 9
    episodes, low_high = list(log.iter_episodes()), continuous.envs.action_bounds(
        spec.task.action)
    for eid, count in ((0, 3), (1, 2)):  # Steps 0-2 and 3-4: the five random ones.
        rng = continuous.episode_rng(spec.seed, eid)
        np.testing.assert_allclose(episodes[eid].steps[F.ACTION][:count],
                                   np.stack([rng.uniform(*low_high) for _ in range(count)]),
                                   rtol=1e-6)
    base_first = next(iter(base.iter_episodes())).steps[F.ACTION][:3]
    assert not np.allclose(episodes[0].steps[F.ACTION][:3], base_first)
    # Step 5 is the policy's sample again: not the uniform draw that would come next.
    rng = continuous.episode_rng(spec.seed, 1)
    draws = [rng.uniform(*low_high) for _ in range(3)]
    assert not np.allclose(episodes[1].steps[F.ACTION][2], draws[2])

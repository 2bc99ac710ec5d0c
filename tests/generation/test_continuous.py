"""The continuous behaviour path: n-step transitions, the MoG-critic D4PG, and raw logs of
3-step DM Control episodes with the noise std and mean action logged per step."""

import dataclasses

import jax
import numpy as np
import pytest

from rl_unplugged import checkpointing, generation, paths, registry
from rl_unplugged.agents.common import Batch
from rl_unplugged.data import fields as F
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.errors import ConfigError
from rl_unplugged.generation import continuous, d4pg, sac


def _tiny(name: str, num_steps: int = 12):
    """A registered continuous dataset on 3-step episodes and a tiny D4PG (3 updates)."""
    spec = registry.get_dataset(name)
    behaviour = dataclasses.replace(spec.task.behaviour, num_steps=num_steps, hidden=(8,),
                                    batch_size=4, replay_capacity=64, min_replay_size=4,
                                    update_period=1,
                                    target_update_period=2, checkpoint_every_episodes=2)
    task = dataclasses.replace(spec.task, max_episode_steps=3, behaviour=behaviour)
    return spec.replace(task=task, num_steps=num_steps)


def test_n_step_transitions_by_hand():
    rows = []
    nstep = continuous.NStep(2, 0.5, lambda *row: rows.append(row))
    # o0 -1-> o1 -2-> o2 -4-> o3 (terminal): R and d by hand for n = 2, gamma 0.5.
    nstep.step("o0", "a0", 1.0, "o1", False, False)
    assert rows == []
    nstep.step("o1", "a1", 2.0, "o2", False, False)
    nstep.step("o2", "a2", 4.0, "o3", True, True)
    assert rows == [("o0", "a0", 1.0 + 0.5 * 2.0, 0.25, "o2"),
                    ("o1", "a1", 2.0 + 0.5 * 4.0, 0.0, "o3"),
                    ("o2", "a2", 4.0, 0.0, "o3")]
    rows.clear()
    nstep.step("p0", "b0", 1.0, "p1", False, True)  # A one-step truncated episode.
    assert rows == [("p0", "b0", 1.0, 0.5, "p1")]


def test_d4pg_update_moves_both_networks_and_copies_targets_on_the_period():
    task = _tiny("rlu_control/cartpole_swingup_noise20_run0").task  # The next test's agent.
    agent = d4pg.agent_for(task, task.behaviour)
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    batch = Batch(rng.standard_normal((4, 5)).astype(np.float32),
                  rng.uniform(-1, 1, (4, 1)).astype(np.float32),
                  np.ones(4, np.float32), np.full(4, 0.9, np.float32),
                  rng.standard_normal((4, 5)).astype(np.float32))
    one, action, metrics = agent.update_and_act(state, batch, batch.observation[0])
    assert np.isfinite([float(v) for v in metrics.values()]).all()
    np.testing.assert_array_equal(action, agent.act(one.params, batch.observation[0]))
    for part in ("policy", "critic"):
        moved = jax.tree.map(lambda a, b: bool((a != b).any()), state.params[part],
                             one.params[part])
        assert all(jax.tree.leaves(moved)), part
    # After 1 update the targets are the initial params; after 2 they are the online ones.
    same = lambda a, b: all(jax.tree.leaves(jax.tree.map(np.array_equal, a, b)))
    assert same(one.target_params, state.params)
    two, _, _ = agent.update_and_act(one, batch, batch.observation[0])
    assert same(two.target_params, two.params) and not same(two.params, one.params)
    action = np.asarray(agent.act(two.params, batch.observation[0]))
    assert action.shape == (1,) and -1 <= action[0] <= 1


def test_replay_log_records_mean_action_and_noise_std(tmp_path):
    spec = _tiny("rlu_control/cartpole_swingup_noise20_run0")
    log = generation.generate(spec, tmp_path)
    episodes = list(log.iter_episodes())
    assert len(episodes) == 4 and log.num_transitions == 12
    std = np.float32(np.sqrt(d4pg.D4PGConfig().sigma**2 + 0.2**2))
    for ep in episodes:
        steps = ep.steps
        assert steps[F.ACTION].shape == (4, 1) and steps[F.ACTION].dtype == np.float32
        assert steps[F.MEAN_ACTION].shape == (4, 1)
        np.testing.assert_array_equal(steps[F.ACTION_NOISE_STD], [std, std, std, 0])
        executed, mean = steps[F.ACTION][:3], steps[F.MEAN_ACTION][:3]
        assert (np.abs(executed) <= 1).all() and not np.array_equal(executed, mean)
        # The executed action is the clipped mean plus the noise (no other change).
        noise = executed - mean
        inside = np.abs(executed) < 1
        assert np.all(np.abs(noise[inside]) < 6 * std)
    manifest = log.manifest
    assert manifest["generation"]["d4pg"]["sigma"] == 0.3
    assert manifest["generation"]["task"]["action"]["shape"] == [1]
    assert len(manifest["checkpoints"]) == 2  # After episodes 1 and 3.
    # Checkpoints hold the policy and critic params; the learner updated (4-step warm-up).
    info = manifest["checkpoints"][-1]
    # By hand (n = 5 > 3-step episodes: each episode's transitions enter the buffer at its
    # end): 3 after step 3, 6 after step 6 >= the warm-up of 4, then one update per step
    # from step 6 to 12: 7 updates.
    assert info["sgd_steps"] == 7 and info["env_steps"] == 12
    data = (log.directory / info["file"]).read_bytes()
    assert checkpointing.sha256(data) == info["sha256"]
    # The learning curve: one row per checkpoint, the deterministic policy replayed.
    agent, params, loaded = continuous.load_checkpoint(log.directory)
    assert loaded == {k: v for k, v in info.items()}
    curve = continuous.learning_curve(log.directory, num_episodes=2, task=spec.task)
    assert [r["checkpoint"] for r in curve] == [0, 1]
    assert [r["env_steps"] for r in curve] == [6, 12]
    returns = [ep.metadata[F.EPISODE_RETURN] for ep in episodes]
    assert curve[1]["logged_return"] == pytest.approx(np.mean(returns[2:]))
    assert all(0 <= r["mean_action_return"] <= 3 for r in curve)  # Rewards in [0, 1].
    # A second call finds the complete log; the same spec regenerates the same bytes.
    again = generation.generate(spec, tmp_path / "again")
    for a, b in zip(episodes, again.iter_episodes(), strict=True):
        for key in (F.ACTION, F.MEAN_ACTION, F.OBSERVATION, F.REWARD):
            np.testing.assert_array_equal(a.steps[key], b.steps[key])


def test_random_level_and_bad_levels(tmp_path):
    spec = _tiny("rlu_mujoco/hopper_random_run0", num_steps=3)
    log = generation.generate(spec, tmp_path)
    (ep,) = list(log.iter_episodes()) if log.num_episodes == 1 else list(log.iter_episodes())[:1]
    np.testing.assert_array_equal(ep.steps[F.ACTION], ep.steps[F.MEAN_ACTION])
    assert (ep.steps[F.ACTION_NOISE_STD] == 0).all()
    assert RawLog(log.directory).manifest["complete"]
    with pytest.raises(ConfigError, match="discrete actions"):
        continuous.generate(registry.get_dataset("rlu_bsuite/catch_noise0_run0"), tmp_path)


def test_acme_layer_norm_networks_start_in_the_middle_of_the_box():
    # Acme's D4PG policy head starts near zero, so tanh starts unsaturated (the ReLU
    # `PolicyNetwork` option starts anywhere); large observations are squashed by the
    # first layer's LayerNorm + tanh.
    task = registry.get_task("control/walker_stand")
    behaviour = dataclasses.replace(task.behaviour, hidden=(8, 8))
    obs = np.full(24, 50.0, np.float32)
    agent = d4pg.agent_for(task, behaviour)
    action = np.asarray(agent.act(agent.init(jax.random.PRNGKey(1)).params, obs))
    assert np.abs(action).max() < 0.01
    first = agent.policy.apply(agent.init(jax.random.PRNGKey(1)).params["policy"], obs[None])
    assert np.abs(np.asarray(first.activations[0])).max() <= 1.0
    with pytest.raises(ValueError, match="torso"):
        d4pg.D4PGConfig(torso="cnn")


@pytest.mark.parametrize("config", [None, sac.SACConfig()], ids=["d4pg", "sac"])
def test_an_interrupted_replay_run_resumes_to_the_same_log(tmp_path, config):
    spec = _tiny("rlu_control/cartpole_swingup_noise20_run0")
    whole = continuous.generate(spec, tmp_path / "whole", shard_transitions=3, config=config)
    calls = []

    def crash_in_the_third_episode(n):
        # Episodes 1 and 2 are committed (a shard per episode), with 1 update after
        # step 6 and the replay holding 6 n-step transitions: the resume state has both.
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        continuous.generate(spec, tmp_path / "resumed", shard_transitions=3, config=config,
                            progress=crash_in_the_third_episode)
    partial = RawLog(paths.raw_dir(spec, tmp_path / "resumed"), require_complete=False,
                     verify=False)
    assert partial.num_episodes == 2
    resumed = continuous.generate(spec, tmp_path / "resumed", shard_transitions=3,
                                  config=config)
    assert resumed.num_episodes == whole.num_episodes == 4
    for a, b in zip(whole.iter_episodes(), resumed.iter_episodes(), strict=True):
        for key in (F.ACTION, F.MEAN_ACTION, F.OBSERVATION, F.REWARD):
            np.testing.assert_array_equal(a.steps[key], b.steps[key], err_msg=key)
    assert [c["sha256"] for c in whole.manifest["checkpoints"]] == \
        [c["sha256"] for c in resumed.manifest["checkpoints"]]

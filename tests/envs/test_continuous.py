"""Continuous actions (gymnasium Box, dm_control) and dict observations behind `Environment`."""

import dataclasses

import gymnasium
import numpy as np
import pytest

from rl_unplugged import envs
from rl_unplugged.errors import IncompatibleError
from rl_unplugged.specs import ActionSpec
from tests.envs.helpers import (
    CARTPOLE_KEYS,
    cartpole_swingup_task,
    continuous_task,
    dict_pendulum_task,
    pendulum_task,
)


def test_pendulum_matches_gymnasium_and_truncates():
    env = envs.make(pendulum_task(max_episode_steps=5))
    ref = gymnasium.make("Pendulum-v1").unwrapped
    obs = env.reset(7)
    ref_obs, _ = ref.reset(seed=7)
    assert obs.dtype == np.float32 and obs.shape == (3,)
    np.testing.assert_array_equal(obs, ref_obs)
    for t, torque in enumerate([2.0, -2.0, 0.5, 0.0, -1.25]):
        ts = env.step(np.array([torque], np.float32))
        ref_obs, ref_reward, _, _, _ = ref.step(np.array([torque], np.float32))
        np.testing.assert_array_equal(ts.observation, ref_obs)
        assert ts.reward == float(ref_reward) and not ts.terminated
        assert ts.truncated == (t == 4)
    # Pendulum's reward by hand on the last step: -(theta^2 + 0.1 thetadot^2 + 0.001 u^2).
    theta, thetadot = np.arctan2(obs[1], obs[0]), obs[2]
    env.reset(7)
    ts = env.step(np.zeros(1, np.float32))
    assert ts.reward == pytest.approx(-(theta**2 + 0.1 * thetadot**2), rel=1e-5)


def test_continuous_actions_are_checked_not_clipped():
    env = envs.make(pendulum_task())
    env.reset(0)
    env.step(np.array([2.0]))  # The bound itself is allowed.
    for action, match in ((np.array([2.5]), "outside"), (np.array([-2.01]), "outside"),
                          (np.array([np.nan]), "non-finite"), (np.array([np.inf]), "non-finite"),
                          (np.zeros(2), "shape"), (0.5, "shape")):
        with pytest.raises(ValueError, match=match):
            env.step(action)


def test_bounds_are_compared_in_float32():
    # float32(0.1) > 0.1: a float64 comparison would refuse the nearest float32 action.
    low, high = envs.action_bounds(ActionSpec.continuous([-0.1, -1.0], [0.1, 1.0]))
    assert low.dtype == high.dtype == np.float32
    assert not (np.float32(0.1) > high[0]) and not (np.float32(-0.1) < low[0])
    with pytest.raises(ValueError, match="discrete"):
        envs.action_bounds(ActionSpec.discrete(3))


def test_gymnasium_spaces_must_match_the_spec():
    with pytest.raises(IncompatibleError, match="action space"):
        envs.make(continuous_task("classic", "p", "Pendulum-v1", 3, [-1.0], [1.0], 10))
    with pytest.raises(IncompatibleError, match="action space"):
        envs.make(dataclasses.replace(pendulum_task(), action=ActionSpec.discrete(3)))


def test_gymnasium_dict_observations_follow_the_registered_order():
    task = dict_pendulum_task()
    env = envs.make(task)
    ref = gymnasium.make("Pendulum-v1").unwrapped
    obs = env.reset(4)
    ref_obs, _ = ref.reset(seed=4)
    # Registered order: angle (cos, sin) then velocity, as Pendulum-v1's flat vector.
    np.testing.assert_array_equal(obs, ref_obs)
    ts = env.step(np.array([1.0], np.float32))
    np.testing.assert_array_equal(ts.observation, ref.step(np.array([1.0], np.float32))[0])


def test_gymnasium_mujoco_box_env_terminates():
    task = continuous_task("mujoco", "inverted_pendulum", "InvertedPendulum-v5", 4, [-3.0],
                           [3.0], 1000)
    env = envs.make(task)
    env.reset(0)
    for _ in range(100):
        ts = env.step(np.array([3.0], np.float32))  # Full force topples the pole.
        if ts.last:
            break
    assert ts.terminated and not ts.truncated


def _dm_cartpole(seed):
    from dm_control import suite

    return suite.load("cartpole", "swingup", task_kwargs={"random": seed})


def test_dm_control_flattens_in_registered_order_and_matches_the_suite():
    env = envs.make(cartpole_swingup_task(max_episode_steps=4))
    ref = _dm_cartpole(11)

    def flat(o):
        return np.concatenate([o["velocity"], o["position"]]).astype(np.float32)

    obs = env.reset(11)
    assert obs.shape == (5,) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs, flat(ref.reset().observation))
    for t, force in enumerate([1.0, -1.0, 0.25, 0.0]):
        ts = env.step(np.array([force], np.float32))
        ref_ts = ref.step(np.array([force], np.float32))
        np.testing.assert_array_equal(ts.observation, flat(ref_ts.observation))
        assert ts.reward == ref_ts.reward and not ts.terminated and ts.truncated == (t == 3)
    assert [k for k, _ in CARTPOLE_KEYS] == ["velocity", "position"]


def test_dm_control_episodes_are_pure_functions_of_the_seed():
    def rollout(env, seed):
        obs = [env.reset(seed)]
        for t in range(20):
            obs.append(env.step(np.array([np.sin(t)], np.float32)).observation)
        return np.stack(obs)

    env = envs.make(cartpole_swingup_task(max_episode_steps=20))
    first = rollout(env, 3)
    rollout(env, 4)  # Another episode in between must not leak into seed 3's.
    np.testing.assert_array_equal(first, rollout(env, 3))
    np.testing.assert_array_equal(first, rollout(envs.make(cartpole_swingup_task(20)), 3))
    assert not np.array_equal(first[0], rollout(env, 4)[0])


def test_dm_control_time_limit_comes_from_the_task_not_the_suite():
    # The suite ends cartpole after 1000 steps with discount 1; that limit is lifted and
    # TimeLimit truncates at max_episode_steps instead.
    env = envs.make(cartpole_swingup_task(max_episode_steps=1001))
    env.reset(0)
    zero = np.zeros(1, np.float32)
    for _ in range(1000):
        assert not env.step(zero).last
    ts = env.step(zero)
    assert ts.truncated and not ts.terminated


def test_dm_control_spec_must_match():
    with pytest.raises(IncompatibleError, match="observes"):
        envs.make(cartpole_swingup_task(keys=(("position", (3,)), ("speed", (2,)))))
    with pytest.raises(IncompatibleError, match="takes actions"):
        envs.make(dataclasses.replace(cartpole_swingup_task(),
                                      action=ActionSpec.continuous([-2.0], [2.0])))
    with pytest.raises(IncompatibleError, match="unknown dm_control task"):
        envs.make(dataclasses.replace(cartpole_swingup_task(), env_id="cartpole-swingup"))

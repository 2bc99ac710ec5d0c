"""The ALE backend: RL Unplugged's (Dopamine's) settings, determinism, frame stacking,
time limit, and the registry's action-set sizes checked against ale-py."""

import dataclasses

import numpy as np
import pytest

from rl_unplugged import envs, registry
from rl_unplugged.envs.atari import AtariEnv, make_gymnasium_env
from rl_unplugged.errors import IncompatibleError

PONG = registry.get_task("atari/pong")


def short(task, steps):
    """A test-only cap (the protocol's is 27,000 steps)."""
    return dataclasses.replace(task, max_episode_steps=steps)


def _check_action_sets(tasks):
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    for task in tasks:
        env = gymnasium.make(task.env_id, disable_env_checker=True)
        assert env.action_space.n == task.num_actions, task.id
        env.close()


def test_the_registered_action_sets_of_a_few_games_are_ale_minimal_sets():
    _check_action_sets([registry.get_task(f"atari/{n}") for n in ("pong", "breakout", "hero")])


@pytest.mark.slow  # Loads 46 ROMs (~0.2 s each).
def test_the_registered_action_sets_are_ale_minimal_sets():
    _check_action_sets(registry.tasks("atari"))


def test_environment_settings_are_rl_unplugged_s():
    env = make_gymnasium_env(PONG)
    ale = env.unwrapped.ale
    assert ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    assert ale.getInt("max_num_frames_per_episode") == 0  # Only `TimeLimit` truncates.
    assert env.unwrapped._frameskip == 1  # The preprocessing skips (and max-pools).
    pre = env.env  # FrameStackObservation(AtariPreprocessing(...)).
    assert (pre.frame_skip, pre.noop_max, pre.screen_size) == (4, 0, (84, 84))
    assert not pre.terminal_on_life_loss and pre.grayscale_obs
    assert list(env.unwrapped._action_set) == list(env.unwrapped.ale.getMinimalActionSet())
    env.reset(seed=0)
    env.step(0)
    assert ale.getEpisodeFrameNumber() == 4  # Four emulator frames per agent step.
    env.close()


def test_frames_stack_oldest_first_with_zeros_before_the_first():
    env = envs.make(PONG)
    obs = env.reset(5)
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8 and obs.flags.c_contiguous
    assert not obs[..., :3].any() and obs[..., 3].any()  # Zero padding (Dopamine's).
    previous = obs
    for _ in range(5):
        obs = env.step(1).observation
        np.testing.assert_array_equal(obs[..., :3], previous[..., 1:])
        previous = obs


def test_episodes_are_a_pure_function_of_the_seed_and_sticky_actions_matter():
    def rollout(seed):
        env = envs.make(short(PONG, 60))
        obs, rng = [env.reset(seed)], np.random.default_rng(0)
        while True:
            ts = env.step(int(rng.integers(PONG.num_actions)))
            obs.append(ts.observation)
            if ts.last:
                return np.stack(obs), ts

    a, last = rollout(3)
    np.testing.assert_array_equal(a, rollout(3)[0])
    # Same actions, another seed: the sticky-action draws differ, and so do the frames.
    assert not np.array_equal(a, rollout(4)[0])
    assert last.truncated and not last.terminated and len(a) == 61


def test_a_life_loss_does_not_end_the_episode():
    env = AtariEnv(registry.get_task("atari/breakout"))
    env.reset(0)
    lives = env._env.unwrapped.ale.lives()
    for _ in range(2_000):  # FIRE then NOOP: the ball is served and missed.
        ts = env.step(1)
        if env._env.unwrapped.ale.lives() < lives:
            break
    assert env._env.unwrapped.ale.lives() < lives and not ts.terminated


def test_a_wrong_action_set_is_refused():
    with pytest.raises(IncompatibleError, match="6 actions in its minimal set"):
        AtariEnv(dataclasses.replace(PONG, num_actions=18, action=None))


def test_same_seeds_same_returns_with_1_and_3_environments(monkeypatch):
    from rl_unplugged.evaluation import protocols
    from rl_unplugged.evaluation.evaluator import run_episodes

    task = short(PONG, 30)
    monkeypatch.setitem(registry.TASKS, task.id, task)
    noop = lambda obs: np.zeros(len(obs), np.int64)  # Every action comes from epsilon = 1.
    seeds = protocols.episode_seeds(task.id, 3)
    one = run_episodes(noop, task.id, seeds, num_envs=1, epsilon=1.0)
    many = run_episodes(noop, task.id, seeds, num_envs=3, epsilon=1.0)
    np.testing.assert_array_equal(one.lengths, [30, 30, 30])
    np.testing.assert_array_equal(one.returns, many.returns)

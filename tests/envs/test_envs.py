import numpy as np
import pytest

from rl_unplugged import envs, registry


# Two Atari games stand for the 46 (each loads a ROM; tests/envs/test_atari.py has more).
@pytest.mark.parametrize("task", [t for t in sorted(registry.TASKS) if not t.startswith(
    "atari/") or t in ("atari/breakout", "atari/pong")])
def test_env_matches_spec_and_is_deterministic(task):
    spec = registry.get_task(task)

    def rollout(seed):
        env = envs.make(spec)
        obs = [env.reset(seed)]
        rng = np.random.default_rng(0)
        for _ in range(50):
            ts = env.step(int(rng.integers(spec.num_actions)) if spec.is_discrete else
                          rng.uniform(spec.action.minimum, spec.action.maximum).astype(
                              np.float32))
            obs.append(ts.observation)
            if ts.last:
                break
        return np.stack(obs)

    a, b = rollout(3), rollout(3)
    assert a.shape[1:] == spec.observation.shape and a.dtype == spec.observation.dtype
    np.testing.assert_array_equal(a, b)


def test_time_limit_truncates_not_terminates():
    spec = registry.get_task("bsuite/mountain_car")
    env = envs.make(spec)
    env.reset(0)
    for t in range(spec.max_episode_steps):  # noqa: B007
        ts = env.step(1)  # Doing nothing never reaches the goal.
        assert not ts.terminated
    assert ts.truncated and t == spec.max_episode_steps - 1
    with pytest.raises(RuntimeError):
        env.step(0)


def test_catch_terminates():
    env = envs.make("bsuite/catch")
    env.reset(0)
    for _ in range(9):
        ts = env.step(1)
    assert ts.terminated and not ts.truncated


def test_invalid_action_is_rejected():
    env = envs.make("classic/cartpole")
    env.reset(0)
    with pytest.raises(ValueError, match="outside"):
        env.step(2)


def test_minatar_reset_forgets_the_previous_episodes_last_action():
    # Issue 8 defect 3: with sticky actions, an episode's first step may repeat the
    # environment's last action; after a reset that must be MinAtar's initial 0, not the
    # previous episode's, so an episode is a function of its seed alone.
    task = registry.get_task("minatar/breakout")
    fresh, used = envs.make(task), envs.make(task)
    for seed in range(40):
        used.reset(seed=1000 + seed)
        for _ in range(3):
            used.step(2)  # Breakout's minimal action 2 ('r'): a nonzero last action.
        np.testing.assert_array_equal(fresh.reset(seed=seed), used.reset(seed=seed))
        for _ in range(3):
            ta, tb = fresh.step(0), used.step(0)
            np.testing.assert_array_equal(ta.observation, tb.observation, err_msg=f"seed {seed}")

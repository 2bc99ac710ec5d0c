"""Tiny transition sets for selection tests."""

import numpy as np

from rl_unplugged.data.transitions import Transitions


def transitions(obs, action, reward, discount, next_obs, episode_id, step=None):
    obs = np.asarray(obs, np.float32)
    episode_id = np.asarray(episode_id, np.int64)
    if step is None:  # Steps counted within each episode, in order.
        step = np.zeros(len(episode_id), np.int32)
        for e in np.unique(episode_id):
            idx = np.flatnonzero(episode_id == e)
            step[idx] = np.arange(len(idx))
    return Transitions(observation=obs, action=np.asarray(action, np.int32),
                       reward=np.asarray(reward, np.float32),
                       discount=np.asarray(discount, np.float32),
                       next_observation=np.asarray(next_obs, np.float32),
                       episode_id=episode_id, step=np.asarray(step, np.int32))


def random_transitions(rng, episodes=10, length=5, dim=2, num_actions=2):
    n = episodes * length
    obs = rng.normal(size=(n, dim))
    return transitions(obs, rng.integers(0, num_actions, n), rng.normal(size=n), np.ones(n),
                       rng.normal(size=(n, dim)), np.repeat(np.arange(episodes), length))

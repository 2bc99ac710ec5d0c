"""Offline DQN with double-DQN targets, Huber loss and a target network."""

from rl_unplugged.agents.dqn.config import DQNConfig
from rl_unplugged.agents.dqn.learning import make_learner

__all__ = ["DQNConfig", "make_learner"]

"""Behaviour cloning for discrete actions (cross-entropy on the dataset's actions)."""

from rl_unplugged.agents.bc.config import BCConfig
from rl_unplugged.agents.bc.learning import make_learner

__all__ = ["BCConfig", "make_learner"]

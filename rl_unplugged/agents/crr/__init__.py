"""Critic-regularised regression (Wang et al. 2020), RL Unplugged's continuous baseline."""

from rl_unplugged.agents.crr.config import CRRConfig
from rl_unplugged.agents.crr.learning import make_learner

__all__ = ["CRRConfig", "make_learner"]

"""Implicit Q-learning (Kostrikov et al. 2022): expectile values, AWR policy extraction."""

from rl_unplugged.agents.iql.config import IQLConfig
from rl_unplugged.agents.iql.learning import make_learner

__all__ = ["IQLConfig", "make_learner"]

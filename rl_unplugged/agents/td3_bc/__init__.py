"""TD3+BC (Fujimoto & Gu 2021): TD3 with a behaviour-cloning term in the policy loss."""

from rl_unplugged.agents.td3_bc.config import TD3BCConfig
from rl_unplugged.agents.td3_bc.learning import make_learner

__all__ = ["TD3BCConfig", "make_learner"]

"""Behaviour cloning for continuous actions with a tanh-Gaussian policy."""

from rl_unplugged.agents.bc_gaussian.config import BCGaussianConfig
from rl_unplugged.agents.bc_gaussian.learning import make_learner

__all__ = ["BCGaussianConfig", "make_learner"]

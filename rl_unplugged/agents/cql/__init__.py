"""CQL(H) for discrete actions (Kumar et al. 2020) over DQN or QR-DQN."""

from rl_unplugged.agents.cql.config import CQLConfig
from rl_unplugged.agents.cql.learning import make_learner

__all__ = ["CQLConfig", "make_learner"]

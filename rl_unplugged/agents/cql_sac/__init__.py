"""CQL(H) over SAC for continuous actions (Kumar et al. 2020), with the Lagrange variant."""

from rl_unplugged.agents.cql_sac.config import CQLSACConfig
from rl_unplugged.agents.cql_sac.learning import make_learner

__all__ = ["CQLSACConfig", "make_learner"]

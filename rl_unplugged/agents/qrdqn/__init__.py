"""QR-DQN (Dabney et al. 2018): quantile regression over the return distribution."""

from rl_unplugged.agents.qrdqn.config import QRDQNConfig
from rl_unplugged.agents.qrdqn.learning import make_learner

__all__ = ["QRDQNConfig", "make_learner"]

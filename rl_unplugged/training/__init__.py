"""Training offline learners: one loop, ensembles, checkpoints, logs and plots."""

from rl_unplugged.checkpointing import list_checkpoints
from rl_unplugged.training.loop import (
    NonFiniteLossError,
    TrainResult,
    check_transitions,
    train,
)
from rl_unplugged.training.policy import (
    list_members,
    load_policy,
    load_q_function,
    read_config,
)

__all__ = ["NonFiniteLossError", "TrainResult", "check_transitions", "list_checkpoints",
           "list_members", "load_policy", "load_q_function", "read_config", "train"]

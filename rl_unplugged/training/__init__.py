"""Training offline learners: one loop, ensembles, checkpoints, logs and plots."""

from rl_unplugged.checkpointing import list_checkpoints
from rl_unplugged.training.callbacks import Callback, RepresentationProbes
from rl_unplugged.training.checkpointer import Checkpointer
from rl_unplugged.training.logs import JsonlLogger, ListLogger, Logger, ProgressLogger
from rl_unplugged.training.loop import (
    FitResult,
    NonFiniteLossError,
    Plan,
    TrainResult,
    check_action_kind,
    check_transitions,
    fit,
    train,
)
from rl_unplugged.training.policy import (
    list_members,
    load_policy,
    load_q_function,
    read_config,
)
from rl_unplugged.training.run_dir import RunDir
from rl_unplugged.training.streaming import Streaming

__all__ = ["Callback", "Checkpointer", "FitResult", "JsonlLogger", "ListLogger", "Logger",
           "NonFiniteLossError", "Plan", "ProgressLogger", "RepresentationProbes", "RunDir",
           "Streaming", "TrainResult", "check_action_kind", "check_transitions", "fit",
           "list_checkpoints", "list_members", "load_policy", "load_q_function", "read_config",
           "train"]

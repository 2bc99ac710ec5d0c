"""BC's loss wiring: cross-entropy of the dataset actions (no target network)."""

from __future__ import annotations

from rl_unplugged.agents import builder, common
from rl_unplugged.agents.bc import losses
from rl_unplugged.agents.bc.config import BCConfig
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.specs import TaskSpec

__all__ = ["TrainingState", "make_learner", "loss_fn"]


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network):
    del target_params, state, key
    logits = network.apply(params, batch.observation).values
    return losses.bc_loss(logits, batch.action)


def make_learner(config: BCConfig, task: TaskSpec) -> common.Learner:
    return builder.build("bc", config, task, loss_fn, lambda out: out.values, use_target=False)

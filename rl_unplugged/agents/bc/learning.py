"""BC learner: TrainingState, init and the pure update."""

from __future__ import annotations

import functools

from rl_unplugged.agents import common
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
    network = common.make_network(task, config)
    optimizer = common.make_optimizer(config)
    update = functools.partial(common.sgd_update, optimizer=optimizer, use_target=False,
                               loss_fn=functools.partial(loss_fn, network=network))
    init = functools.partial(common.init_state, network=network, optimizer=optimizer, task=task)
    return common.Learner(name="bc", config=config, task=task, network=network,
                          init=lambda key, hparams: init(key, hparams=hparams), update=update,
                          q_values=lambda params, obs: network.apply(params, obs).values)

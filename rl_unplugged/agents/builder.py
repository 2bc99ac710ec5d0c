"""The learner factory every offline agent uses: a `Learner` from its loss.

An agent contributes only its loss wiring (`agents/<algo>/learning.py`: a `LossFn`
and how its network's output scores actions); network, Adam, initial state and the
SGD update come from `common`, as in Acme's `learning_lib.SGDLearner`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from rl_unplugged import networks
from rl_unplugged.agents import common, redo
from rl_unplugged.specs import TaskSpec


def build(name: str, config: common.LearnerConfig, task: TaskSpec, loss: common.LossFn,
          q_values: Callable[[networks.NetworkOutput], jax.Array], *, num_atoms: int = 1,
          use_target: bool = True) -> common.Learner:
    """A learner from its loss (DQN, QR-DQN, CQL and BC).

    Args:
      name: the agent's registered name.
      config: its config; task-dependent defaults are resolved here (`config.resolve`).
      task: the task trained on.
      loss: `loss(params, target_params, state, batch, key, *, network)` -> (loss, metrics).
      q_values: the network output -> (B, A) action scores (greedy = argmax).
      num_atoms: outputs per action (quantiles for QR-DQN).
      use_target: keep a periodically copied target network (False for BC).
    """
    config = config.resolve(task)
    network = networks.make_network(task, config.hidden, num_atoms=num_atoms)
    optimizer = common.make_optimizer(config.learning_rate, config.adam_eps)
    update = functools.partial(common.sgd_update, optimizer=optimizer, use_target=use_target,
                               loss_fn=functools.partial(loss, network=network))
    if config.redo_every:
        update = redo.every(update, functools.partial(_recycle, network=network, task=task,
                                                      tau=config.redo_tau), config.redo_every)
    init = functools.partial(common.init_state, network=network, optimizer=optimizer, task=task)
    return common.Learner(name=name, config=config, task=task, network=network,
                          init=lambda key, hparams: init(key, hparams=hparams), update=update,
                          q_values=lambda params, obs: q_values(network.apply(params, obs)))


def _recycle(state: common.TrainingState, batch: common.Batch, *, network, task: TaskSpec,
             tau: float) -> common.TrainingState:
    """ReDo on the value network, with dormancy measured on the update's batch."""
    fresh = network.init(jax.random.fold_in(state.key, state.step),
                         common.dummy_observation(task))
    activations = network.apply(state.params, batch.observation).activations
    params, opt_state = redo.recycle_with_optimizer(state.params, state.opt_state, fresh,
                                                    activations, tau)
    return state._replace(params=params, opt_state=opt_state)

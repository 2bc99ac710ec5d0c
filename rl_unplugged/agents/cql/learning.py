"""CQL's loss wiring: the base TD loss (DQN or QR-DQN) + alpha * CQL(H) penalty."""

from __future__ import annotations

import functools

from rl_unplugged.agents import builder, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.cql import losses
from rl_unplugged.agents.cql.config import CQLConfig
from rl_unplugged.agents.dqn import learning as dqn_learning
from rl_unplugged.agents.qrdqn import learning as qrdqn_learning
from rl_unplugged.specs import TaskSpec

__all__ = ["TrainingState", "make_learner", "loss_fn"]

_BASE_TERMS = {"dqn": dqn_learning.td_terms, "qrdqn": qrdqn_learning.td_terms}


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network, base):
    del key
    # The penalty reuses the Q(s) of the base loss's forward pass (mean over quantiles
    # for QR-DQN), so CQL costs one logsumexp more than its base.
    td, metrics, q = _BASE_TERMS[base](params, target_params, state, batch, network)
    penalty = losses.cql_penalty(q, batch.action)
    return td + state.hparams["alpha"] * penalty, {**metrics, "cql_penalty": penalty}


def make_learner(config: CQLConfig, task: TaskSpec) -> common.Learner:
    qrdqn = config.base == "qrdqn"
    return builder.build(
        "cql", config, task, functools.partial(loss_fn, base=config.base),
        (lambda out: out.values.mean(-1)) if qrdqn else (lambda out: out.values),
        num_atoms=config.num_atoms if qrdqn else 1)

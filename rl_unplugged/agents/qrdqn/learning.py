"""QR-DQN's loss wiring: quantile Huber TD loss with double-DQN selection."""

from __future__ import annotations

from rl_unplugged.agents import builder, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.dqn.learning import q_values_and_targets
from rl_unplugged.agents.qrdqn import losses
from rl_unplugged.agents.qrdqn.config import QRDQNConfig
from rl_unplugged.specs import TaskSpec

__all__ = ["TrainingState", "make_learner", "loss_fn", "td_terms"]


def td_terms(params, target_params, state: TrainingState, batch: Batch, network):
    """(loss, metrics, Q(s) = mean over quantiles, (B, A))."""
    z, next_z, next_z_target = q_values_and_targets(params, target_params, batch, network)
    loss, metrics = losses.qr_loss(z, batch.action, batch.reward, batch.discount, next_z,
                                   next_z_target, gamma=state.hparams["discount"],
                                   kappa=state.hparams["huber_kappa"])
    return loss, metrics, z.mean(-1)


def loss_fn(params, target_params, state: TrainingState, batch: Batch, key, *, network):
    del key
    loss, metrics, _ = td_terms(params, target_params, state, batch, network)
    return loss, metrics


def make_learner(config: QRDQNConfig, task: TaskSpec) -> common.Learner:
    return builder.build("qrdqn", config, task, loss_fn, lambda out: out.values.mean(-1),
                         num_atoms=config.num_atoms)

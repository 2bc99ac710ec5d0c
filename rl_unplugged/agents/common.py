"""The value-learning core, written once (after Acme's `LossFn` + `SGDLearner`).

The Huber loss, the double-DQN target, the periodic target-network copy, the
training state, Adam and the generic SGD update live here. The offline learners
(`agents/<algo>/learning.py`, wired by `agents/builder.py`) and the online behaviour
DQN that logs the datasets (`generation/dqn.py`) both use them: a hyperparameter is
either traced (read from `TrainingState.hparams`, so ensembles can vary it) or fixed
at trace time (the behaviour agent: fewer leaves per jitted call, same numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from rl_unplugged import networks
from rl_unplugged.specs import TaskSpec

Params = Any
Metrics = dict[str, jax.Array]


class Batch(NamedTuple):
    """A minibatch of transitions (see `rl_unplugged.data.transitions.Transitions`).

    observation: (B, *obs_shape) (dict observations arrive flattened, (B, D));
    action: (B,) int32 for discrete tasks, (B, A) float32 inside the action spec's
    bounds for continuous ones (`TaskSpec.action`); reward: (B,) float32;
    discount: (B,) float32, 0 where next_observation is terminal, 1 otherwise (also
    after a time-limit truncation, which therefore bootstraps normally);
    next_observation: (B, *obs_shape).
    """

    observation: jax.Array
    action: jax.Array
    reward: jax.Array
    discount: jax.Array
    next_observation: jax.Array


class TrainingState(NamedTuple):
    """Everything that changes during training, for every agent of the suite.

    `target_params` is the target network of value-based agents (BC carries a copy
    it never reads, so that one state shape serves the loop, checkpoints and
    ensembles). `hparams` holds the config's traced scalars (learning rate, alpha,
    ...) as arrays, so ensembles over a hyperparameter grid are vmapped.
    """

    params: Params
    target_params: Params
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array  # int32 scalar: updates done.
    hparams: dict[str, jax.Array]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LearnerConfig:
    """Fields every learner has. Subclasses add theirs; all validate in __post_init__.

    `TRACED` names the float/int fields passed to the update as arrays (in
    `TrainingState.hparams`): only those can vary across a vmapped ensemble grid.
    """

    TRACED = ("learning_rate",)
    # Fields added after runs were saved, with the value those runs were trained with: a
    # saved config that lacks one loads with it (`training.load_policy`), not the default.
    OLD_RUN_DEFAULTS: ClassVar[dict[str, Any]] = {}

    hidden: tuple[int, ...] = (256, 256)  # Torso widths (MLP layers, or dense after the CNN).
    batch_size: int = 256  # Transitions per update.
    learning_rate: float = 3e-4  # Adam step size.
    adam_eps: float = 1e-8  # Adam epsilon.
    # ReDo (Sokar et al. 2023, `agents/redo.py`): updates between recycles of tau-dormant
    # units (0: off) and the dormancy threshold tau. Fixed per run (not traced).
    redo_every: int = 0
    redo_tau: float = 0.1

    def __post_init__(self):
        if not self.hidden or any(int(h) <= 0 for h in self.hidden):
            raise ValueError(f"hidden must be positive widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be > 0, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not self.adam_eps > 0:
            raise ValueError(f"adam_eps must be > 0, got {self.adam_eps}")
        if self.redo_every < 0:
            raise ValueError(f"redo_every must be >= 0 (0: no ReDo), got {self.redo_every}")
        if not 0.0 <= self.redo_tau < 1.0:
            raise ValueError(f"redo_tau must be in [0, 1), got {self.redo_tau}")

    def traced(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.TRACED}

    def resolve(self, task: TaskSpec) -> LearnerConfig:
        """The config with task-dependent defaults filled in (none here)."""
        del task
        return self


@dataclasses.dataclass(frozen=True, kw_only=True)
class ValueConfig(LearnerConfig):
    """Fields of the value-based learners (DQN, QR-DQN, CQL)."""

    TRACED = ("learning_rate", "discount", "huber_kappa", "target_update_period")

    discount: float | None = None  # gamma; None takes the task's gamma.
    huber_kappa: float = 1.0  # Huber threshold (kappa).
    target_update_period: int = 2_000  # Updates between hard target-network copies.

    def __post_init__(self):
        super().__post_init__()
        if self.discount is not None and not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {self.discount}")
        if not self.huber_kappa > 0:
            raise ValueError(f"huber_kappa must be > 0, got {self.huber_kappa}")
        if self.target_update_period <= 0:
            raise ValueError(f"target_update_period must be > 0, got {self.target_update_period}")

    def resolve(self, task: TaskSpec) -> ValueConfig:
        return self if self.discount is not None else dataclasses.replace(self,
                                                                          discount=task.gamma)


# ---------------------------------------------------------------------------------------
# Shared loss pieces.


def huber(x: jax.Array, kappa: float | jax.Array = 1.0) -> jax.Array:
    """Elementwise Huber loss: x^2/2 if |x| <= kappa else kappa (|x| - kappa/2)."""
    abs_x = jnp.abs(x)
    quadratic = jnp.minimum(abs_x, kappa)
    return 0.5 * quadratic**2 + kappa * (abs_x - quadratic)


def double_q_target(reward: jax.Array, discount: jax.Array, gamma: float | jax.Array,
                    next_q_online: jax.Array, next_q_target: jax.Array) -> jax.Array:
    """Double-DQN target (van Hasselt et al. 2016, eq. 4).

    y = r + gamma * d * Q_target(s', argmax_a Q_online(s', a)).
    `d` is 0 after a true termination and 1 otherwise (time-limit truncations
    bootstrap normally). Gradients are stopped.

    Args:
      reward, discount: (B,).
      next_q_online, next_q_target: (B, A) values at s'.
    Returns:
      (B,) targets.
    """
    chex.assert_equal_shape([next_q_online, next_q_target])
    best = jnp.argmax(next_q_online, axis=-1)
    value = jnp.take_along_axis(next_q_target, best[:, None], axis=-1)[:, 0]
    return jax.lax.stop_gradient(reward + gamma * discount * value)


def select_action_values(values: jax.Array, action: jax.Array) -> jax.Array:
    """values[b, action[b], ...]: (B, A, ...) -> (B, ...)."""
    index = action.reshape(action.shape + (1,) * (values.ndim - 1))
    return jnp.take_along_axis(values, index.astype(jnp.int32), axis=1)[:, 0]


def periodic_target_update(params: Params, target_params: Params, step: jax.Array,
                           period: int | jax.Array) -> Params:
    """Hard copy of the online parameters every `period` updates (Mnih et al. 2015).

    `period` is traced (an ensemble's hparam) or a fixed int; the copy is exact either way.
    """
    return optax.periodic_update(params, target_params, step, jnp.asarray(period, step.dtype))


# ---------------------------------------------------------------------------------------
# Network, optimizer and state construction shared by all learners.


def make_optimizer(learning_rate: float, eps: float = 1e-8, *, traced: bool = True
                   ) -> optax.GradientTransformation:
    """Adam.

    traced=True: the learning rate is a state entry (`new_state` sets it from the
    hparams), so ensembles can vary it. traced=False: a constant of the compiled update
    (the behaviour agent's, whose resume states and datasets were made with it).
    """
    if not traced:
        return optax.adam(learning_rate, eps=eps)
    return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, eps=eps)


def dummy_observation(task: TaskSpec) -> jax.Array:
    """A batch of one zero observation (1, *obs_shape), to initialise networks."""
    return jnp.zeros((1, *task.observation.shape), task.observation.dtype)


def new_state(params: Params, key: jax.Array, optimizer: optax.GradientTransformation,
              hparams: dict[str, float | jax.Array]) -> TrainingState:
    """The state before any update: target = online params, step 0, Adam initialised.

    `hparams` are the traced hyperparameters (possibly none); a traced learning rate
    among them is written into the optimizer state.
    """
    opt_state = optimizer.init(params)
    hp = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
    if "learning_rate" in hp and hasattr(opt_state, "hyperparams"):
        opt_state.hyperparams["learning_rate"] = hp["learning_rate"]
    return TrainingState(params=params, target_params=params, opt_state=opt_state, key=key,
                         step=jnp.zeros((), jnp.int32), hparams=hp)


def init_state(key: jax.Array, network: networks.HeadNetwork,
               optimizer: optax.GradientTransformation, task: TaskSpec,
               hparams: dict[str, float | jax.Array]) -> TrainingState:
    """Initial learner state; `hparams` may hold per-member values (learning rate included)."""
    init_key, state_key = jax.random.split(key)
    return new_state(network.init(init_key, dummy_observation(task)), state_key, optimizer,
                     hparams)


LossFn = Callable[[Params, Params, TrainingState, Batch, jax.Array], tuple[jax.Array, Metrics]]


def sgd_update(state: TrainingState, batch: Batch, *, loss_fn: LossFn,
               optimizer: optax.GradientTransformation, use_target: bool = True,
               target_update_period: int | None = None, split_key: bool = True
               ) -> tuple[TrainingState, Metrics]:
    """One gradient step on `loss_fn(params, target_params, state, batch, key)`.

    Every learner's `update`, and the behaviour agent's, is this function with its own
    loss bound in.

    Args:
      use_target: copy the online params to the target every period (False: BC).
      target_update_period: a fixed period; None reads the traced
        `state.hparams['target_update_period']`.
      split_key: give the loss a fresh key and carry the other half. False: the loss
        gets `state.key`, which stays constant (the behaviour agent's exploration key).
    """
    key, loss_key = jax.random.split(state.key) if split_key else (state.key, state.key)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, metrics), grads = grad_fn(state.params, state.target_params, state, batch, loss_key)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    step = state.step + 1
    target = state.target_params
    if use_target:
        period = (state.hparams["target_update_period"] if target_update_period is None
                  else target_update_period)
        target = periodic_target_update(params, target, step, period)
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads), **metrics}
    return state._replace(params=params, target_params=target, opt_state=opt_state, key=key,
                          step=step), metrics


@dataclasses.dataclass(frozen=True)
class Learner:
    """A configured learner: what the training loop, probes and policies need.

    init(key, hparams) -> TrainingState; update(state, batch) -> (state, metrics) is
    pure and jit-able; q_values(params, obs) -> (B, A) action scores (Q-values, the
    mean over quantiles for QR-DQN, logits for BC), whose argmax is the greedy policy.
    Continuous learners (`agents/actor_critic.py`) also give `act`; their `q_values`
    is (B, 1): the critic at the policy's action (BC: the policy's log-density there).
    """

    name: str
    config: LearnerConfig
    task: TaskSpec
    network: networks.HeadNetwork
    init: Callable[[jax.Array, dict[str, Any]], TrainingState]
    update: Callable[[TrainingState, Batch], tuple[TrainingState, Metrics]]
    q_values: Callable[[Params, jax.Array], jax.Array]
    # Continuous learners only: act(params, obs) -> (B, A) float32 deterministic (mean)
    # actions inside the action spec's bounds, the policy evaluated.
    act: Callable[[Params, jax.Array], jax.Array] | None = None
    # The probes' features: (params, obs) -> NetworkOutput; None: `network.apply`.
    represent: Callable[[Params, jax.Array], networks.NetworkOutput] | None = None

    def representation(self, params: Params, obs: jax.Array) -> networks.NetworkOutput:
        if self.represent is not None:
            return self.represent(params, obs)
        return self.network.apply(params, obs)

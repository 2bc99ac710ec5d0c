"""The continuous-action core shared by the offline actor-critics (BC, TD3+BC, CQL, IQL, CRR).

One `TrainingState` serves them and the discrete learners: `params`, `target_params`
and `opt_state` are dicts by part ('critic', 'policy', 'value', 'log_alpha', ...), each
part with its own Adam (learning rate traced from `hparams`), so the training loop,
checkpoints, ensembles and probes are unchanged. Critics are `num_critics` stacked
`networks.CriticNetwork`s (one vmapped forward pass for the twin critics).

Actions: the learners work in the normalised box [-1, 1]^A (the tanh range of their
policies); `normalise` maps the dataset's actions in, `act` maps the policy's mean
action back into the action spec's bounds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rl_unplugged import networks
from rl_unplugged.agents import common, redo
from rl_unplugged.agents.common import Batch, LearnerConfig, TrainingState
from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import TaskSpec

Params = Any
# The Gaussian policy's log-std range: pytorch_sac's (Yarats & Kostrikov) and IQL's
# reference code's; CQL's rlkit-based code clips at [-20, 2].
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContinuousConfig(LearnerConfig):
    """Fields of every continuous learner: state normalisation (TD3+BC's, Fujimoto & Gu
    2021, sec. 5). With it every network sees (s - mean) / (std + OBSERVATION_STD_EPS),
    with the dataset's per-dimension mean and std; the training loop fills them from the
    data (`Plan.make(data=...)`) and the run's config saves them, so evaluation
    normalises the same way."""

    # Runs saved before observation normalisation existed never normalised.
    OLD_RUN_DEFAULTS = {"normalize_observations": False}

    normalize_observations: bool = False
    observation_mean: tuple[float, ...] | None = None
    observation_std: tuple[float, ...] | None = None

    def __post_init__(self):
        super().__post_init__()
        for name in ("observation_mean", "observation_std"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(float(v) for v in value)
                if not all(math.isfinite(v) for v in value):
                    raise ValueError(f"{name} must be finite, got {value}")
                object.__setattr__(self, name, value)
        mean, std = self.observation_mean, self.observation_std
        if (mean is None) != (std is None) or (mean is not None and len(mean) != len(std)):
            raise ValueError("observation_mean and observation_std go together, with one "
                             f"value per observation dimension; got {mean} and {std}")
        if std is not None and min(std) < 0:
            raise ValueError(f"observation_std must be >= 0, got {std}")

    def needs_observation_stats(self) -> bool:
        """Normalises observations but has no statistics yet (the loop computes them)."""
        return self.normalize_observations and self.observation_mean is None

    def with_observation_stats(self, mean: Sequence[float], std: Sequence[float]
                               ) -> ContinuousConfig:
        return dataclasses.replace(self, observation_mean=tuple(mean),
                                   observation_std=tuple(std))

    def needs_data_statistics(self) -> bool:
        """Takes settings from the dataset that are not filled yet (the loop fills them
        with `with_data_statistics`; subclasses add theirs)."""
        return self.needs_observation_stats()

    def with_data_statistics(self, data: Any) -> ContinuousConfig:
        """This config with what it takes from `data` (a `Transitions`) filled in."""
        if not self.needs_observation_stats():
            return self
        return self.with_observation_stats(*observation_stats(data.observation))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ActorCriticConfig(ContinuousConfig):
    """Fields of the continuous actor-critics; `learning_rate` is the critics' (and value's)."""

    TRACED = ("learning_rate", "policy_learning_rate", "discount", "tau")

    policy_learning_rate: float = 3e-4  # Adam step size of the policy (and temperatures).
    discount: float | None = None  # gamma; None takes the task's gamma.
    tau: float = 0.005  # Polyak rate of the target critics: theta' <- tau theta + (1-tau) theta'.
    num_critics: int = 2  # Stacked critics; targets take their minimum (clipped double Q).

    def __post_init__(self):
        super().__post_init__()
        if not self.policy_learning_rate > 0:
            raise ValueError(f"policy_learning_rate must be > 0, got {self.policy_learning_rate}")
        if self.discount is not None and not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {self.discount}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.num_critics < 1:
            raise ValueError(f"num_critics must be >= 1, got {self.num_critics}")

    def resolve(self, task: TaskSpec) -> ActorCriticConfig:
        return self if self.discount is not None else dataclasses.replace(self,
                                                                          discount=task.gamma)


OBSERVATION_STD_EPS = 1e-3  # Added to the std (as TD3+BC's code does): constant dims stay finite.


def observation_stats(observations: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-dimension mean and std of (N, D) observations (float64 accumulation; the
    array may be memory-mapped)."""
    obs = np.asarray(observations)
    if obs.ndim != 2 or not len(obs):
        raise ValueError(f"observation statistics need (N, D) observations with N > 0, got "
                         f"shape {obs.shape}")
    mean = obs.mean(axis=0, dtype=np.float64)
    std = obs.std(axis=0, dtype=np.float64)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def normalising_observations(learner: common.Learner) -> common.Learner:
    """`learner` with its config's observation normalisation applied to every input: the
    update's observations and next observations, `act`, `q_values` and the probes'
    `represent`. Unchanged when the config does not normalise.

    Raises:
      ConfigError: normalisation on but no statistics (train through `training`, which
        computes them, or set `observation_mean`/`observation_std`), or statistics of
        another dimension than the task's observations.
    """
    config = learner.config
    if not config.normalize_observations:
        return learner
    if config.observation_mean is None:
        raise ConfigError(f"{learner.name}: normalize_observations needs the dataset's "
                          "observation_mean and observation_std; training.train/fit "
                          "computes them from the data (Plan.make(data=...)), or set them")
    size = math.prod(learner.task.observation.shape)
    if len(config.observation_mean) != size:
        raise ConfigError(f"{learner.name}: observation statistics have "
                          f"{len(config.observation_mean)} dims, the task "
                          f"{learner.task.name!r} has {size}")
    mean = jnp.asarray(config.observation_mean, jnp.float32)
    scale = 1.0 / (jnp.asarray(config.observation_std, jnp.float32) + OBSERVATION_STD_EPS)

    def norm(obs):
        return (obs.astype(jnp.float32) - mean) * scale

    def update(state, batch):
        return learner.update(state, batch._replace(
            observation=norm(batch.observation), next_observation=norm(batch.next_observation)))

    def wrap(fn):
        return None if fn is None else (lambda params, obs: fn(params, norm(obs)))

    return dataclasses.replace(
        learner, update=update, q_values=wrap(learner.q_values), act=wrap(learner.act),
        represent=wrap(learner.represent or learner.network.apply))


# ---------------------------------------------------------------------------------------
# Networks and the tanh-Gaussian policy.


class GaussianOutput(NamedTuple):
    mean: jax.Array  # (B, A) pre-tanh mean.
    log_std: jax.Array  # (B, A) in [LOG_STD_MIN, LOG_STD_MAX].
    representation: jax.Array
    activations: tuple[jax.Array, ...]


class GaussianPolicyNetwork(nn.Module):
    """Torso + one linear head giving the pre-tanh mean and log-std of each action dim."""

    torso: nn.Module
    action_size: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> GaussianOutput:
        rep, acts = self.torso(obs)
        out = nn.Dense(2 * self.action_size)(rep)
        mean, log_std = jnp.split(out, 2, axis=-1)
        # A smooth squash of log-std into its range (as pytorch_sac's actor; CQL's and
        # IQL's reference code clip instead).
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(log_std) + 1.0)
        return GaussianOutput(mean=mean, log_std=log_std, representation=rep, activations=acts)


class MeanGaussianPolicyNetwork(nn.Module):
    """IQL's reference policy (Kostrikov et al.'s code): N(tanh(mean(s)), exp(log_std)^2).

    One state-independent log-std per action dim (a parameter, initialised at 0 and
    clipped to [LOG_STD_MIN, LOG_STD_MAX] as theirs); `mean` is pre-tanh, so
    `tanh_mean_action` is its deterministic action too. Its log-density
    (`mean_gaussian_log_prob`) stays finite and smooth at actions on the bounds.
    """

    torso: nn.Module
    action_size: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> GaussianOutput:
        rep, acts = self.torso(obs)
        mean = nn.Dense(self.action_size)(rep)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_size,))
        log_std = jnp.broadcast_to(jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX), mean.shape)
        return GaussianOutput(mean=mean, log_std=log_std, representation=rep, activations=acts)


def mean_gaussian_log_prob(mean: jax.Array, log_std: jax.Array, action: jax.Array) -> jax.Array:
    """log N(a; tanh(mean), exp(log_std)^2) of normalised actions (B, A), summed -> (B,)."""
    return jnp.sum(jax.scipy.stats.norm.logpdf(action, jnp.tanh(mean), jnp.exp(log_std)),
                   axis=-1)


def tanh_gaussian(mean: jax.Array, log_std: jax.Array):
    """pi(.|s) = tanh(N(mean, exp(log_std)^2)) per dim, independent over the last axis (TFP)."""
    from rl_unplugged.agents.distributions import tfd, tfp  # Lazy: TFP imports take ~1 s.

    base = tfd.Normal(mean, jnp.exp(log_std))
    return tfd.Independent(tfd.TransformedDistribution(base, tfp.bijectors.Tanh()), 1)


ACTION_EPS = 1e-6  # Dataset actions at +-1 are moved this far inside (atanh(+-1) = +-inf).


def log_prob(mean: jax.Array, log_std: jax.Array, action: jax.Array) -> jax.Array:
    """log pi(a|s) of normalised actions (B, A) with the tanh correction -> (B,)."""
    clipped = jnp.clip(action, -1.0 + ACTION_EPS, 1.0 - ACTION_EPS)
    return tanh_gaussian(mean, log_std).log_prob(clipped)


def sample(mean: jax.Array, log_std: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A reparameterised sample a = tanh(mean + std * eps) and its log pi(a|s), both from the
    pre-tanh sample (stable where tanh saturates): (B, A), (B,)."""
    from rl_unplugged.agents.distributions import tfd, tfp

    base = tfd.Normal(mean, jnp.exp(log_std))
    x = base.sample(seed=key)
    correction = tfp.bijectors.Tanh().forward_log_det_jacobian(x, event_ndims=1)
    return jnp.tanh(x), jnp.sum(base.log_prob(x), axis=-1) - correction


def normalise(action: jax.Array, task: TaskSpec) -> jax.Array:
    """Actions in the task's bounds (B, A) -> [-1, 1]^A."""
    low = jnp.asarray(task.action.minimum, jnp.float32)
    high = jnp.asarray(task.action.maximum, jnp.float32)
    return jnp.clip(2.0 * (action - low) / (high - low) - 1.0, -1.0, 1.0)


def denormalise(action: jax.Array, task: TaskSpec) -> jax.Array:
    """[-1, 1]^A -> the task's bounds (clipped: float32 rounding never leaves them)."""
    low = jnp.asarray(task.action.minimum, jnp.float32)
    high = jnp.asarray(task.action.maximum, jnp.float32)
    return jnp.clip(low + (action + 1.0) * 0.5 * (high - low), low, high)


def unit_box(task: TaskSpec) -> TaskSpec:
    """`task` with its actions normalised to [-1, 1]^A (the learners' internal action space)."""
    from rl_unplugged.specs import ActionSpec

    size = task.action.shape[0]
    return dataclasses.replace(task, action=ActionSpec.continuous((-1.0,) * size, (1.0,) * size))


@dataclasses.dataclass(frozen=True)
class Critics:
    """`num` stacked critics Q_i(s, a) sharing one vmapped forward pass."""

    network: networks.CriticNetwork
    num: int

    def init(self, key: jax.Array, task: TaskSpec) -> Params:
        obs = common.dummy_observation(task)
        action = jnp.zeros((1, task.action.shape[0]), jnp.float32)
        return jax.vmap(lambda k: self.network.init(k, obs, action))(
            jax.random.split(key, self.num))

    def apply(self, params: Params, obs: jax.Array, action: jax.Array) -> networks.NetworkOutput:
        """Values (num, B) (or (num, B, atoms)); representation (num, B, D)."""
        return jax.vmap(lambda p: self.network.apply(p, obs, action))(params)

    def values(self, params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
        return self.apply(params, obs, action).values


# ---------------------------------------------------------------------------------------
# State, optimizers and the per-part Adam step.


def make_optimizer(config: LearnerConfig) -> optax.GradientTransformation:
    """Adam with a traced learning rate (set per part from `hparams` in `new_state`)."""
    return common.make_optimizer(config.learning_rate, config.adam_eps)


# The hparam that sets each part's learning rate.
LEARNING_RATE_OF = {"critic": "learning_rate", "value": "learning_rate",
                    "policy": "policy_learning_rate", "log_alpha": "policy_learning_rate",
                    "log_alpha_prime": "learning_rate"}


def new_state(params: dict[str, Params], target_params: dict[str, Params], key: jax.Array,
              optimizer: optax.GradientTransformation, hparams: Mapping[str, Any]
              ) -> TrainingState:
    """The state before any update: one Adam state per part, learning rates from hparams."""
    hp = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
    opt_state = {}
    for name, part in params.items():
        state = optimizer.init(part)
        # BC has no policy_learning_rate: its one part trains at learning_rate.
        state.hyperparams["learning_rate"] = hp.get(LEARNING_RATE_OF[name], hp["learning_rate"])
        opt_state[name] = state
    return TrainingState(params=params, target_params=target_params, opt_state=opt_state,
                         key=key, step=jnp.zeros((), jnp.int32), hparams=hp)


def apply_grads(state: TrainingState, name: str, grads: Params,
                optimizer: optax.GradientTransformation) -> TrainingState:
    """One Adam step on part `name` of `state.params`."""
    updates, opt = optimizer.update(grads, state.opt_state[name], state.params[name])
    return state._replace(params={**state.params, name: optax.apply_updates(
        state.params[name], updates)}, opt_state={**state.opt_state, name: opt})


def soft_update(target: Params, online: Params, tau: jax.Array) -> Params:
    """Polyak averaging theta' <- tau theta + (1 - tau) theta'."""
    return optax.incremental_update(online, target, tau)


def min_over_critics(values: jax.Array) -> jax.Array:
    """Clipped double Q (Fujimoto et al. 2018): the minimum over the critic axis 0."""
    return jnp.min(values, axis=0)


# ---------------------------------------------------------------------------------------
# ReDo over the parts of an actor-critic.


@dataclasses.dataclass(frozen=True)
class RedoPart:
    """A part recycled by ReDo: how to initialise it afresh and read its activations.

    init(key) -> fresh params; activations(params, batch) -> hidden activations;
    stacked: the part holds `num_critics` networks along axis 0 (recycled one by one).
    """

    name: str
    init: Callable[[jax.Array], Params]
    activations: Callable[[Params, Batch], Sequence[jax.Array]]
    stacked: bool = False


def critic_redo_part(critics: Critics, task: TaskSpec) -> RedoPart:
    """The stacked critics as a ReDo part (activations at the batch's (s, a))."""
    def activations(params: Params, batch: Batch) -> Sequence[jax.Array]:
        return critics.network.apply(params, batch.observation,
                                     normalise(batch.action, task)).activations

    return RedoPart("critic", lambda key: critics.init(key, task), activations, stacked=True)


def state_redo_part(name: str, module: nn.Module, init: Callable[[jax.Array], Params]
                    ) -> RedoPart:
    """A network of states only (policy, value) as a ReDo part."""
    return RedoPart(name, init, lambda params, batch: module.apply(
        params, batch.observation).activations)


def tanh_mean_action(policy: nn.Module) -> Callable[[Params, jax.Array], jax.Array]:
    """The deterministic action of a tanh-Gaussian policy: tanh(mean), in [-1, 1]."""
    return lambda params, obs: jnp.tanh(policy.apply(params["policy"], obs).mean)


def redo_update(update: Callable, parts: Sequence[RedoPart], config: LearnerConfig
                ) -> Callable:
    """`update` with ReDo on `parts` every `config.redo_every` updates (unchanged if 0)."""
    if not config.redo_every:
        return update

    def recycle(state: TrainingState, batch: Batch) -> TrainingState:
        params, opt_state = dict(state.params), dict(state.opt_state)
        for i, part in enumerate(parts):
            key = jax.random.fold_in(jax.random.fold_in(state.key, state.step), i)
            fresh = part.init(key)

            def one(p, moments, f, b=batch, part=part):
                return redo.recycle(p, moments, f, part.activations(p, b), config.redo_tau)

            moments = redo.adam_moments(opt_state[part.name])
            fn = jax.vmap(one) if part.stacked else one
            params[part.name], moments = fn(params[part.name], moments, fresh)
            opt_state[part.name] = redo.with_adam_moments(opt_state[part.name], moments)
        return state._replace(params=params, opt_state=opt_state)

    return redo.every(update, recycle, config.redo_every)


def evaluation_fns(task: TaskSpec, mean_action: Callable[[Params, jax.Array], jax.Array],
                   critics: Critics | None, q_of: Callable[[jax.Array], jax.Array] | None = None
                   ) -> dict[str, Callable]:
    """`act`, `q_values` and `represent` of a continuous learner.

    mean_action(params, obs) -> (B, A) normalised deterministic action. With critics,
    q_values is the first critic at that action (B, 1) and the probes read its
    representation; without (BC), see the learner. q_of maps a critic's output to Q
    (distributional critics: the distribution's mean).
    """
    def act(params, obs):
        return denormalise(mean_action(params, obs), task)

    if critics is None:
        return {"act": act}

    def critic_at_policy(params, obs):
        first = jax.tree.map(lambda x: x[0], params["critic"])
        return critics.network.apply(first, obs, jax.lax.stop_gradient(
            mean_action(params, obs)))

    def q_values(params, obs):
        values = critic_at_policy(params, obs).values
        return (values if q_of is None else q_of(values))[:, None]

    return {"act": act, "q_values": q_values, "represent": critic_at_policy}

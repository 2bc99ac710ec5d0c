"""The continuous behaviour agent's fallback: online SAC (issue 10's fallback for tasks
where the D4PG of `d4pg.py` does not reach its competence target).

Soft actor-critic with automatic entropy tuning (Haarnoja et al. 2018, "Soft
Actor-Critic Algorithms and Applications", arXiv:1812.05905, Alg. 1 and App. D):

- a tanh-Gaussian policy pi(.|s) = tanh(N(mu(s), sigma(s)^2)) in [-1, 1]^A
  (`actor_critic.GaussianPolicyNetwork`; the executed action maps it into the task's
  bounds), and twin critics Q_1, Q_2 over [obs, normalised action]
  (`actor_critic.Critics`; the suite's ReLU MLPs, as the paper's);
- critic target y = R + d (min_i Q'_i(s', a') - temp log pi(a'|s')), a' ~ pi(.|s')
  (`cql_sac.losses.soft_td_target`; R, d the replay's n-step reward and discount,
  d = gamma^m, 0 after a termination; n = 1 by default, as the paper's), each critic
  regressing on y with a squared error;
- policy loss E[temp log pi(a|s) - min_i Q_i(s, a)], a ~ pi reparameterised, and
  temperature loss -log(temp) E[log pi(a|s) + target_entropy], target entropy -A
  (`cql_sac.losses`, the offline CQL(SAC)'s, shared);
- Polyak-averaged target critics (tau 0.005); one Adam (lr 3e-4) for every part.

The shared settings (widths, batch, replay, warm-up, update period, checkpoint cadence)
are the task's `BehaviourConfig`; its `learning_rate` and `target_update_period` are the
D4PG's and are not used here: `SACConfig` holds SAC's learning rate, tau and
temperature. The policy's sample that explores is drawn on the host from the episode's
generator by the caller (`continuous.py`), from `explore`'s (mean action, pre-tanh mean,
std): this module is pure jitted functions.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax

from rl_unplugged import compile_cache, networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.cql_sac import losses
from rl_unplugged.agents.td3_bc.losses import critic_loss as squared_td_loss
from rl_unplugged.specs import BehaviourConfig, TaskSpec

__all__ = ["Agent", "SACConfig", "agent_for"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SACConfig:
    """What only the SAC behaviour agent has (the rest is the task's BehaviourConfig).

    Attributes:
      learning_rate: Adam step size of the critics, policy and temperature (the paper: 3e-4).
      tau: Polyak rate of the target critics (the paper: 0.005).
      initial_temperature: the entropy temperature before tuning.
      target_entropy: SAC's entropy target; None: -A (the paper's).
      n_step: transitions bootstrap after n steps (the paper: 1).
      num_critics: critics whose minimum forms the target and the policy's Q (the paper: 2).
      random_steps: the run's first environment steps act uniformly at random in the
        action bounds, and updates wait for them (softlearning's SAC settings: 1,000;
        CleanRL's SAC: 5,000; sfujim/TD3's main.py, whose curves set HalfCheetah's
        target: 25,000); 0 (the default): the policy acts from the first step and
        updates start at the replay's warm-up.
    """

    learning_rate: float = 3e-4
    tau: float = 0.005
    initial_temperature: float = 1.0
    target_entropy: float | None = None
    n_step: int = 1
    num_critics: int = 2
    random_steps: int = 0

    def __post_init__(self):
        if not self.learning_rate > 0:
            raise ValueError(f"SACConfig.learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"SACConfig.tau must be in (0, 1], got {self.tau}")
        if not self.initial_temperature > 0:
            raise ValueError("SACConfig.initial_temperature must be > 0, got "
                             f"{self.initial_temperature}")
        for name in ("n_step", "num_critics"):
            if getattr(self, name) < 1:
                raise ValueError(f"SACConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.random_steps < 0:
            raise ValueError(f"SACConfig.random_steps must be >= 0, got {self.random_steps}")


class Agent:
    """Jitted pure functions of one task's SAC (compiled once per agent).

    Its `TrainingState`: params {'policy', 'critic' (stacked), 'log_alpha'}, target
    params {'critic'}, one Adam state per part, the key of the policy's samples in the
    update, `step` (updates taken), no hparams.
    """

    def __init__(self, task: TaskSpec, behaviour: BehaviourConfig, config: SACConfig):
        self.task = task
        self.behaviour = behaviour
        self.config = config
        networks.make_policy_network(task, behaviour.hidden)  # Validates the task.
        self.policy = actor_critic.GaussianPolicyNetwork(
            torso=networks.make_torso(task, behaviour.hidden), action_size=task.action.shape[0])
        self.critics = actor_critic.Critics(networks.make_network(task, behaviour.hidden),
                                            config.num_critics)
        self.optimizer = optax.adam(config.learning_rate)
        self.target_entropy = (-float(task.action.shape[0]) if config.target_entropy is None
                               else config.target_entropy)
        self._dummy_obs = common.dummy_observation(task)
        self.init = jax.jit(self._init)
        self.act = jax.jit(self._act)
        self.act_batch = jax.jit(self._act_batch)
        self.explore = jax.jit(self._explore)
        self.update = jax.jit(self._update)
        self.update_and_explore = jax.jit(self._update_and_explore)

    def _init(self, key: jax.Array) -> TrainingState:
        key, p_key, c_key = jax.random.split(key, 3)
        params = {"policy": self.policy.init(p_key, self._dummy_obs),
                  "critic": self.critics.init(c_key, self.task),
                  "log_alpha": jnp.log(jnp.asarray(self.config.initial_temperature,
                                                   jnp.float32))}
        opt_state = {name: self.optimizer.init(p) for name, p in params.items()}
        return TrainingState(params=params, target_params={"critic": params["critic"]},
                             opt_state=opt_state, key=key, step=jnp.zeros((), jnp.int32),
                             hparams={})

    def _act_batch(self, params, obs: jax.Array) -> jax.Array:
        """The deterministic action tanh(mu(s)) in the task's bounds, (B, D) -> (B, A):
        the evaluator's, selection's and fixed-policy levels' policy."""
        mean = jnp.tanh(self.policy.apply(params["policy"], obs).mean)
        return actor_critic.denormalise(mean, self.task)

    def _act(self, params, obs: jax.Array) -> jax.Array:
        """The deterministic action (A,) of one observation."""
        return self._act_batch(params, obs[None])[0]

    def _explore(self, params, obs: jax.Array) -> jax.Array:
        """(3, A) of one observation: the deterministic action in the bounds, the pre-tanh
        mean mu(s) and std sigma(s); the caller samples tanh(mu + sigma eps)."""
        out = self.policy.apply(params["policy"], obs[None])
        return jnp.stack([actor_critic.denormalise(jnp.tanh(out.mean), self.task)[0],
                          out.mean[0], jnp.exp(out.log_std[0])])

    def _update(self, state: TrainingState, batch: Batch) -> tuple[TrainingState, dict]:
        """One critic, policy and temperature step on an n-step batch, then the targets."""
        key, next_key, pi_key = jax.random.split(state.key, 3)
        obs, action = batch.observation, actor_critic.normalise(batch.action, self.task)
        temperature = jnp.exp(state.params["log_alpha"])
        next_out = self.policy.apply(state.params["policy"], batch.next_observation)
        next_action, next_log_pi = actor_critic.sample(next_out.mean, next_out.log_std,
                                                       next_key)
        next_q = actor_critic.min_over_critics(self.critics.values(
            state.target_params["critic"], batch.next_observation, next_action))
        target = losses.soft_td_target(batch.reward, batch.discount, next_q, next_log_pi,
                                       temperature)

        def critic_loss(params):
            q = self.critics.values(params, obs, action)
            return squared_td_loss(q, target), q

        (c_loss, q), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(
            state.params["critic"])
        state = actor_critic.apply_grads(state, "critic", c_grads, self.optimizer)

        def policy_loss(params):
            out = self.policy.apply(params, obs)
            a, log_pi = actor_critic.sample(out.mean, out.log_std, pi_key)
            q_pi = actor_critic.min_over_critics(
                self.critics.values(state.params["critic"], obs, a))
            return losses.sac_policy_loss(log_pi, q_pi, temperature), log_pi

        (p_loss, log_pi), p_grads = jax.value_and_grad(policy_loss, has_aux=True)(
            state.params["policy"])
        state = actor_critic.apply_grads(state, "policy", p_grads, self.optimizer)
        t_grads = jax.grad(losses.temperature_loss)(state.params["log_alpha"], log_pi,
                                                    self.target_entropy)
        state = actor_critic.apply_grads(state, "log_alpha", t_grads, self.optimizer)
        targets = {"critic": actor_critic.soft_update(
            state.target_params["critic"], state.params["critic"], self.config.tau)}
        return state._replace(target_params=targets, key=key, step=state.step + 1), {
            "critic_loss": c_loss, "policy_loss": p_loss, "temperature": temperature,
            "entropy": -jnp.mean(log_pi), "q_mean": jnp.mean(q)}

    def _update_and_explore(self, state: TrainingState, batch: Batch, obs: jax.Array):
        """`update` then `explore` with the new params: one dispatch per environment step."""
        state, metrics = self._update(state, batch)
        return state, self._explore(state.params, obs), metrics


def agent_for(task: TaskSpec, behaviour: BehaviourConfig,
              config: SACConfig | None = None) -> Agent:
    """A shared `Agent` per (task, configs): its jitted functions compile once per process."""
    config = SACConfig() if config is None else config
    return compile_cache.cached(("behaviour_sac", task, behaviour, config),
                                functools.partial(Agent, task, behaviour, config))

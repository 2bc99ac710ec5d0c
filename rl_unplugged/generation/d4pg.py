"""The continuous behaviour agent: D4PG with a mixture-of-Gaussians critic.

D4PG (Barth-Maron et al. 2018; Acme's `agents/jax/d4pg`) with the critic of Shahriari
et al. 2022, "Revisiting Gaussian mixture critics in off-policy reinforcement learning:
a sample-based approach" (Acme's MoG-MPO critic):

- a deterministic policy pi(s) in the action bounds (tanh), on Acme's D4PG networks by
  default (`networks.LayerNormMLPTorso`, the policy head initialised near zero;
  `D4PGConfig.torso`);
- a distributional critic Z(s, a) = sum_k w_k N(mu_k, sigma_k^2) (K components, the
  head's 3K outputs: logits, means, raw scales; `agents.crr.losses.mixture`, the one
  MoG critic of the suite, shared with CRR's MoG option);
- the critic's sample-based cross-entropy: draw `num_target_samples` returns
  z' ~ Z_target(s', pi_target(s')) per transition, form y = R + d z' (R the n-step
  discounted reward, d = gamma^n, 0 after a termination) and minimise
  -mean log p_Z(s,a)(y) (`agents.crr.losses.mog_cross_entropy`; Acme's
  `mpo/learning.py`: `-prediction.log_prob(target)` averaged over samples);
- the deterministic policy gradient through the critic's mean:
  L_pi = -mean_s E[Z(s, pi(s))] (`agents.crr.losses.mixture_mean`);
- hard target copies of both networks every `target_update_period` updates, Adam
  after a global-norm clip (Acme's D4PG: lr 1e-4, clipping on, period 100, n = 5,
  sigma 0.3, batch 256; Shahriari et al.: K = 5 components). The registry's behaviour
  makes one update per environment step, not Acme's one per 8 (measured in
  datasets/behaviour_competence.md).

The shared settings (widths, learning rate, batch, replay, warm-up, target period) are
the task's `BehaviourConfig`; `D4PGConfig` holds what only D4PG has. Exploration
(Gaussian noise on the executed action) is drawn by the caller (`continuous.py`), on
the host, from the episode's generator: this module is pure jitted functions.
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from rl_unplugged import compile_cache, networks
from rl_unplugged.agents import actor_critic, common
from rl_unplugged.agents.common import Batch, TrainingState
from rl_unplugged.agents.crr import losses as mog
from rl_unplugged.specs import BehaviourConfig, TaskSpec

__all__ = ["Agent", "D4PGConfig", "agent_for"]

TORSOS = ("layer_norm", "mlp")


@dataclasses.dataclass(frozen=True, kw_only=True)
class D4PGConfig:
    """What only the D4PG behaviour agent has (the rest is the task's BehaviourConfig).

    Attributes:
      sigma: std of the agent's own Gaussian exploration noise on the executed action,
        in units of the action range's half-width (Acme's D4PG: 0.3).
      n_step: transitions bootstrap after n steps (Acme's D4PG: 5).
      num_components: K, components of the critic's mixture (Shahriari et al.: 5).
      num_target_samples: return samples of the target mixture per transition in the
        cross-entropy (Acme's MoG-MPO draws 128 per action; 20 here, as CRR's MoG
        critic: the loss is an unbiased estimate either way, and 2 cores are few).
      max_grad_norm: global-norm clip of both networks' gradients (Acme: 40).
      torso: 'layer_norm' (Acme's D4PG networks: `networks.LayerNormMLPTorso` for both,
        the policy's head initialised near zero) or 'mlp' (the suite's ReLU
        `PolicyNetwork` and `CriticNetwork`; its tanh policy saturated on walker_stand,
        see datasets/behaviour_competence.md).
    """

    sigma: float = 0.3
    n_step: int = 5
    num_components: int = 5
    num_target_samples: int = 20
    max_grad_norm: float = 40.0
    torso: str = "layer_norm"

    def __post_init__(self):
        if not self.sigma >= 0:
            raise ValueError(f"D4PGConfig.sigma must be >= 0, got {self.sigma}")
        for name in ("n_step", "num_components", "num_target_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"D4PGConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.max_grad_norm > 0:
            raise ValueError(f"D4PGConfig.max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.torso not in TORSOS:
            raise ValueError(f"D4PGConfig.torso must be one of {TORSOS}, got {self.torso!r}")


class LayerNormPolicy(nn.Module):
    """Acme's D4PG policy: LayerNorm MLP, a near-zero-initialised linear head (actions
    start near the middle of the box, where tanh is not saturated), tanh to the bounds."""

    hidden: tuple[int, ...]
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]

    @nn.compact
    def __call__(self, obs: jax.Array) -> networks.PolicyOutput:
        rep, acts = networks.LayerNormMLPTorso(hidden=self.hidden)(obs)
        out = nn.Dense(len(self.minimum),
                       kernel_init=nn.initializers.truncated_normal(1e-4))(rep)
        return networks.PolicyOutput(actions=networks.squash(out, self.minimum, self.maximum),
                                     representation=rep, activations=acts)


class LayerNormCritic(nn.Module):
    """Acme's D4PG critic torso (LayerNorm MLP over [obs, action]) with `num_atoms` outputs."""

    hidden: tuple[int, ...]
    num_atoms: int

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> networks.NetworkOutput:
        x = jnp.concatenate([obs.reshape(obs.shape[0], -1).astype(jnp.float32),
                             action.astype(jnp.float32)], axis=-1)
        rep, acts = networks.LayerNormMLPTorso(hidden=self.hidden)(x)
        return networks.NetworkOutput(values=nn.Dense(self.num_atoms)(rep),
                                      representation=rep, activations=acts)


class Agent:
    """Jitted pure functions of one task's D4PG (compiled once per agent).

    Its `TrainingState`: params and target params {'policy', 'critic'} (flax pytrees),
    one Adam state per part, the key of the target samples, `step` (updates taken), no
    hparams.
    """

    def __init__(self, task: TaskSpec, behaviour: BehaviourConfig, config: D4PGConfig):
        self.task = task
        self.behaviour = behaviour
        self.config = config
        if config.torso == "mlp":
            self.policy = networks.make_policy_network(task, behaviour.hidden)
            self.critic = networks.make_network(task, behaviour.hidden,
                                                num_atoms=3 * config.num_components)
        else:
            networks.make_policy_network(task, behaviour.hidden)  # Validates the task.
            self.policy = LayerNormPolicy(hidden=tuple(behaviour.hidden),
                                          minimum=task.action.minimum,
                                          maximum=task.action.maximum)
            self.critic = LayerNormCritic(hidden=tuple(behaviour.hidden),
                                          num_atoms=3 * config.num_components)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                                     optax.adam(behaviour.learning_rate))
        self._dummy_obs = common.dummy_observation(task)
        self.init = jax.jit(self._init)
        self.act = jax.jit(self._act)
        self.act_batch = jax.jit(self._act_batch)
        self.update = jax.jit(self._update)
        self.update_and_act = jax.jit(self._update_and_act)
        # The learning loop's names (`continuous._run_replay`): what the host turns into the
        # executed action is D4PG's mean action itself (SAC's `explore` differs).
        self.explore, self.update_and_explore = self.act, self.update_and_act

    def _init(self, key: jax.Array) -> TrainingState:
        key, p_key, c_key = jax.random.split(key, 3)
        action = jnp.zeros((1, self.task.action.shape[0]), jnp.float32)
        params = {"policy": self.policy.init(p_key, self._dummy_obs),
                  "critic": self.critic.init(c_key, self._dummy_obs, action)}
        opt_state = {name: self.optimizer.init(p) for name, p in params.items()}
        return TrainingState(params=params, target_params=params, opt_state=opt_state,
                             key=key, step=jnp.zeros((), jnp.int32), hparams={})

    def _act(self, params, obs: jax.Array) -> jax.Array:
        """pi(obs): the policy's deterministic (mean) action (A,) of one observation."""
        return self.policy.apply(params["policy"], obs[None]).actions[0]

    def _act_batch(self, params, obs: jax.Array) -> jax.Array:
        """pi(obs) of a batch (B, D) -> (B, A): the evaluator's and selection's policy."""
        return self.policy.apply(params["policy"], obs).actions

    def _head(self, params, obs: jax.Array, action: jax.Array) -> jax.Array:
        """Critic outputs (B, 3K) at actions in the task's bounds (normalised inside)."""
        return self.critic.apply(params, obs, actor_critic.normalise(action, self.task)).values

    def _update(self, state: TrainingState, batch: Batch) -> tuple[TrainingState, dict]:
        """One critic and one policy step on an n-step batch; metrics as scalars.

        batch.reward: the n-step discounted reward R; batch.discount: gamma^m (m <= n
        steps taken), 0 after a termination.
        """
        key, z_key = jax.random.split(state.key)
        targets = state.target_params
        next_action = self.policy.apply(targets["policy"], batch.next_observation).actions
        next_head = self._head(targets["critic"], batch.next_observation, next_action)
        z = mog.mixture(next_head).sample(self.config.num_target_samples, seed=z_key)
        target = batch.reward + batch.discount * z  # (n, B)

        def critic_loss(params):
            head = self._head(params, batch.observation, batch.action)
            return mog.mog_cross_entropy(head, target), head

        (c_loss, head), c_grads = jax.value_and_grad(critic_loss, has_aux=True)(
            state.params["critic"])
        state = actor_critic.apply_grads(state, "critic", c_grads, self.optimizer)

        def policy_loss(params):
            action = self.policy.apply(params, batch.observation).actions
            q = mog.mixture_mean(self._head(state.params["critic"], batch.observation, action))
            return -jnp.mean(q)

        p_loss, p_grads = jax.value_and_grad(policy_loss)(state.params["policy"])
        state = actor_critic.apply_grads(state, "policy", p_grads, self.optimizer)
        step = state.step + 1
        new_targets = optax.periodic_update(state.params, targets, step,
                                            self.behaviour.target_update_period)
        return state._replace(target_params=new_targets, key=key, step=step), {
            "critic_loss": c_loss, "policy_loss": p_loss, "q_mean": jnp.mean(
                mog.mixture_mean(head))}

    def _update_and_act(self, state: TrainingState, batch: Batch, obs: jax.Array):
        """`update` then `act` with the new params: one dispatch per environment step."""
        state, metrics = self._update(state, batch)
        return state, self._act(state.params, obs), metrics


def agent_for(task: TaskSpec, behaviour: BehaviourConfig,
              config: D4PGConfig | None = None) -> Agent:
    """A shared `Agent` per (task, configs): its jitted functions compile once per process."""
    config = D4PGConfig() if config is None else config
    return compile_cache.cached(("behaviour_d4pg", task, behaviour, config),
                                functools.partial(Agent, task, behaviour, config))

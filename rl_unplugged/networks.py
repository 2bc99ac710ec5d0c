"""Flax networks shared by the behaviour agent and the offline learners.

Every network returns its head's output with the penultimate `representation` (plus
each hidden layer's activations), which the representation probes (srank, dormant
units, DR3) read.

Discrete tasks: `make_network` gives a `HeadNetwork`, obs -> values (B, num_actions)
or (B, num_actions, num_atoms). Continuous tasks: `make_network` gives a
`CriticNetwork`, (obs, action) -> values (B,) or (B, num_atoms), and
`make_policy_network` a `PolicyNetwork`, obs -> actions (B, A) inside the action
spec's bounds. Dict observations arrive flattened (`specs.flatten_observation`, done
by the data layer and the environments), so the MLP torso sees flat vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import TaskSpec


class NetworkOutput(NamedTuple):
    # (B, num_actions) or (B, num_actions, num_atoms); critics: (B,) or (B, num_atoms).
    values: jax.Array
    representation: jax.Array  # (B, D): the penultimate layer.
    # Each hidden layer's post-ReLU output, neurons on the last axis: (B, units) for a
    # dense layer, (B, H, W, channels) for a conv layer.
    activations: tuple[jax.Array, ...]


class PolicyOutput(NamedTuple):
    actions: jax.Array  # (B, A) float32, inside the action spec's bounds.
    representation: jax.Array  # (B, D): the penultimate layer.
    activations: tuple[jax.Array, ...]  # Each hidden layer's post-ReLU output.


class MLPTorso(nn.Module):
    """ReLU MLP over flattened observations."""

    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        x = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
        acts = []
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
            acts.append(x)
        return x, tuple(acts)


class LayerNormMLPTorso(nn.Module):
    """Acme's `LayerNormMLP` (its D4PG and MPO networks): the first layer is Dense ->
    LayerNorm -> tanh, which puts observations of any scale (dm_control's velocities)
    into [-1, 1]; the others are Dense -> ELU."""

    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        x = obs.reshape(obs.shape[0], -1).astype(jnp.float32)
        acts = []
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width)(x)
            x = jnp.tanh(nn.LayerNorm()(x)) if i == 0 else nn.elu(x)
            acts.append(x)
        return x, tuple(acts)


class PatchConv(nn.Module):
    """A stride-1 VALID convolution as one matmul over sliced patches.

    Same parameters (`kernel` (kh, kw, C, F) HWIO, `bias` (F,)), initialisers and
    outputs as `nn.Conv(F, (kh, kw), padding="VALID")`. Why not `nn.Conv`: vmapped over
    ensemble members, XLA:CPU runs the convolution as a grouped one, about 20x slower
    for 10 members than one member (RESULTS.md); patches @ kernel vmaps into a batched
    matmul instead.
    """

    features: int
    kernel_size: tuple[int, int] = (3, 3)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kh, kw = self.kernel_size
        channels = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (kh, kw, channels, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        h, w = x.shape[-3] - kh + 1, x.shape[-2] - kw + 1
        if h <= 0 or w <= 0:
            raise ConfigError(f"a {kh}x{kw} VALID convolution needs inputs of at least that "
                              f"size; got {x.shape[-3]}x{x.shape[-2]}")
        # (..., h, w, kh * kw * C), ordered like the kernel's (kh, kw, C) rows.
        patches = jnp.concatenate([x[..., i:i + h, j:j + w, :]
                                   for i in range(kh) for j in range(kw)], axis=-1)
        return patches @ kernel.reshape(kh * kw * channels, self.features) + bias


# The behaviour agents' MinAtar convolution: the recorded builds were made with nn.Conv.
BEHAVIOUR_CONV = "xla"


class MinAtarTorso(nn.Module):
    """MinAtar's baseline torso (Young & Tian 2019): conv 16x3x3 then dense layers."""

    hidden: Sequence[int] = (128,)
    channels: int = 16
    # "patches": `PatchConv` (learners). "xla": `nn.Conv`, for the behaviour agents: the
    # recorded MinAtar builds were made with it, and the two differ in the last float bit.
    conv: str = "patches"

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        x = obs.astype(jnp.float32)
        if self.conv not in ("patches", "xla"):
            raise ConfigError(f"conv must be 'patches' or 'xla', got {self.conv!r}")
        layer = (PatchConv(self.channels, (3, 3), name="Conv_0") if self.conv == "patches"
                 else nn.Conv(self.channels, (3, 3), padding="VALID", name="Conv_0"))
        x = nn.relu(layer(x))
        # The conv activations stay (B, H, W, C): a channel is one neuron for the
        # dormant-unit probe (ReDo), not each of its H * W positions.
        acts = [x]
        x = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
            acts.append(x)
        return x, tuple(acts)


class NatureCNNTorso(nn.Module):
    """The DQN torso of Mnih et al. (2015, Methods): conv 32 8x8 stride 4, conv 64 4x4
    stride 2, conv 64 3x3 stride 1 (VALID, ReLU), then dense layers (512 in the paper).

    Takes (B, 84, 84, 4) uint8 frame stacks (Atari), scaled to [0, 1] as the paper's
    preprocessing does; conv activations stay (B, H, W, C) for the probes (as MinAtar's).
    """

    hidden: Sequence[int] = (512,)

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        x = obs.astype(jnp.float32) / 255.0
        acts = []
        for channels, kernel, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
            x = nn.relu(nn.Conv(channels, (kernel, kernel), strides=(stride, stride),
                                padding="VALID")(x))
            acts.append(x)
        x = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
            acts.append(x)
        return x, tuple(acts)


class HeadNetwork(nn.Module):
    """Torso + linear head with `num_actions * num_atoms` outputs."""

    torso: nn.Module
    num_actions: int
    num_atoms: int = 1  # 1: one value per action; >1: quantiles (QR-DQN).

    @nn.compact
    def __call__(self, obs: jax.Array) -> NetworkOutput:
        rep, acts = self.torso(obs)
        out = nn.Dense(self.num_actions * self.num_atoms)(rep)
        if self.num_atoms > 1:
            out = out.reshape(out.shape[0], self.num_actions, self.num_atoms)
        return NetworkOutput(values=out, representation=rep, activations=acts)


class CriticNetwork(nn.Module):
    """State-action critic for continuous actions: MLP over [obs, action] + linear head.

    The action joins the flattened observation at the input (as in TD3, SAC and CQL).
    """

    hidden: Sequence[int]
    num_atoms: int = 1  # 1: one value; >1: quantiles of the return.

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> NetworkOutput:
        """obs (B, *obs_shape), action (B, A) -> values (B,) or (B, num_atoms)."""
        x = jnp.concatenate([obs.reshape(obs.shape[0], -1).astype(jnp.float32),
                             action.astype(jnp.float32)], axis=-1)
        rep, acts = MLPTorso(hidden=self.hidden)(x)
        out = nn.Dense(self.num_atoms)(rep)
        values = out[:, 0] if self.num_atoms == 1 else out
        return NetworkOutput(values=values, representation=rep, activations=acts)


def squash(x: jax.Array, minimum: Sequence[float], maximum: Sequence[float]) -> jax.Array:
    """Unbounded (..., A) -> actions in [minimum, maximum]: tanh, then an affine rescale.

    The final clip only absorbs float32 rounding of the rescale (a bound that is not a
    float32 number), so actions never leave the bounds the environments check.
    """
    low = jnp.asarray(minimum, jnp.float32)
    high = jnp.asarray(maximum, jnp.float32)
    return jnp.clip(low + (jnp.tanh(x) + 1.0) * 0.5 * (high - low), low, high)


class PolicyNetwork(nn.Module):
    """Deterministic (or mean) policy for continuous actions: torso + tanh-squashed head."""

    torso: nn.Module
    minimum: tuple[float, ...]  # Per-dimension bounds (A,), finite.
    maximum: tuple[float, ...]

    @nn.compact
    def __call__(self, obs: jax.Array) -> PolicyOutput:
        """obs (B, *obs_shape) -> actions (B, A) in [minimum, maximum]."""
        rep, acts = self.torso(obs)
        out = nn.Dense(len(self.minimum))(rep)
        return PolicyOutput(actions=squash(out, self.minimum, self.maximum),
                            representation=rep, activations=acts)


def make_torso(task: TaskSpec, hidden: Sequence[int], *, conv: str = "patches") -> nn.Module:
    """The task's torso (`task.network`): MLP for vector observations, MinAtar's CNN for
    10x10 grids ('cnn'; `conv` as in `MinAtarTorso`), the Nature DQN CNN for Atari frame
    stacks ('nature_cnn'); the dense widths after a CNN are `hidden` ((512,) reproduces
    Mnih et al. 2015)."""
    if task.network == "cnn":
        return MinAtarTorso(hidden=tuple(hidden), conv=conv)
    if task.network == "nature_cnn":
        return NatureCNNTorso(hidden=tuple(hidden))
    return MLPTorso(hidden=tuple(hidden))


def _continuous_mlp(task: TaskSpec, what: str) -> None:
    if task.is_discrete:
        raise ConfigError(f"{task.id} has discrete actions; {what} is for continuous tasks")
    if task.network != "mlp":
        raise ConfigError(f"{task.id}: continuous-action networks need network 'mlp', "
                          f"got {task.network!r}")


def make_network(task: TaskSpec, hidden: Sequence[int], num_atoms: int = 1, *,
                 conv: str = "patches") -> HeadNetwork | CriticNetwork:
    """The task's value network.

    Discrete tasks: `HeadNetwork`, `apply(params, obs)` -> values (B, num_actions) or
    (B, num_actions, num_atoms); `conv` picks MinAtar's convolution (`MinAtarTorso`).
    Continuous tasks: `CriticNetwork`,
    `apply(params, obs, action)` -> values (B,) or (B, num_atoms).

    Raises:
      ConfigError: a continuous task whose torso is not the MLP.
    """
    if task.is_discrete:
        return HeadNetwork(torso=make_torso(task, hidden, conv=conv), num_actions=task.num_actions,
                           num_atoms=num_atoms)
    _continuous_mlp(task, "a critic")
    return CriticNetwork(hidden=tuple(hidden), num_atoms=num_atoms)


def make_policy_network(task: TaskSpec, hidden: Sequence[int]) -> PolicyNetwork:
    """The deterministic/mean policy of a continuous task: obs -> actions (B, A).

    Raises:
      ConfigError: a discrete task (its policy is the argmax of `make_network`'s
        values), a non-MLP torso, or unbounded actions (tanh squashing needs bounds).
    """
    _continuous_mlp(task, "a policy network")
    spec = task.action
    if not all(math.isfinite(b) for b in (*spec.minimum, *spec.maximum)):
        raise ConfigError(f"{task.id}: a squashed policy needs finite action bounds")
    return PolicyNetwork(torso=make_torso(task, hidden), minimum=spec.minimum,
                         maximum=spec.maximum)

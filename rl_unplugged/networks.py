"""Flax networks shared by the behaviour agent and the offline learners.

Every network returns a `NetworkOutput` with its head's values and the penultimate
`representation` (plus each hidden layer's activations), which the representation
probes (srank, dormant units, DR3) read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rl_unplugged.specs import TaskSpec


class NetworkOutput(NamedTuple):
    values: jax.Array  # (B, num_actions) or (B, num_actions, num_atoms).
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


class MinAtarTorso(nn.Module):
    """MinAtar's baseline torso (Young & Tian 2019): conv 16x3x3 then dense layers."""

    hidden: Sequence[int] = (128,)
    channels: int = 16

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        x = obs.astype(jnp.float32)
        x = nn.relu(nn.Conv(self.channels, (3, 3), padding="VALID")(x))
        acts = [x.reshape(x.shape[0], -1)]
        x = acts[0]
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


def make_torso(task: TaskSpec, hidden: Sequence[int]) -> nn.Module:
    """The task's torso: MLP for vector observations, MinAtar CNN for images."""
    if task.network == "cnn":
        return MinAtarTorso(hidden=tuple(hidden))
    return MLPTorso(hidden=tuple(hidden))


def make_network(task: TaskSpec, hidden: Sequence[int], num_atoms: int = 1) -> HeadNetwork:
    return HeadNetwork(torso=make_torso(task, hidden), num_actions=task.num_actions,
                       num_atoms=num_atoms)

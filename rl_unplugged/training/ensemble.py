"""Ensembles: N learners (seeds x a hyperparameter grid) trained together with vmap."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rl_unplugged.agents import AgentSpec, LearnerConfig
from rl_unplugged.errors import ConfigError, UnknownNameError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Member:
    """One ensemble member: its index, seed and the grid values it uses."""

    index: int
    seed: int
    grid: dict[str, Any]
    config: LearnerConfig

    def to_json(self) -> dict[str, Any]:
        return {"member": self.index, "seed": self.seed, "grid": self.grid}


def validate_grid(spec: AgentSpec, config: LearnerConfig, grid: Mapping[str, Sequence[Any]]
                  ) -> None:
    """Checks a grid's keys: names of the agent's config that can vary in one ensemble.

    Raises:
      UnknownNameError: an unknown key (a KeyError; lists the valid ones).
      ConfigError: a key that cannot be vmapped, or one without values.
    """
    fields = spec.fields()
    for key, values in grid.items():
        if key not in fields:
            raise UnknownNameError(f"unknown hyperparameter {key!r} for {spec.name}; "
                                   f"valid: {', '.join(fields)}")
        if key not in config.TRACED:
            raise ConfigError(f"{key!r} changes the network or batch shape and cannot vary "
                              f"inside one vmapped ensemble; grid keys for {spec.name}: "
                              f"{', '.join(config.TRACED)}")
        if len(values) == 0:
            raise ConfigError(f"grid key {key!r} has no values")


def make_members(config: LearnerConfig, seeds: Sequence[int],
                 grid: Mapping[str, Sequence[Any]]) -> list[Member]:
    """Seeds x grid points, seed-major; each member's config is validated."""
    if len(seeds) == 0:
        raise ConfigError("need at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"duplicate seeds: {list(seeds)}")
    keys = list(grid)
    members = []
    for seed in seeds:
        for values in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            members.append(Member(index=len(members), seed=int(seed), grid=point,
                                  config=dataclasses.replace(config, **point)))
    return members


def stacked_hparams(members: Sequence[Member]) -> dict[str, jax.Array]:
    """The members' traced hyperparameters, stacked along a leading axis."""
    names = members[0].config.TRACED
    return {k: jnp.asarray(np.array([m.config.traced()[k] for m in members], np.float32))
            for k in names}


def member_keys(members: Sequence[Member], stream: int) -> jax.Array:
    """(N, 2) keys: stream 0 initialises, stream 1 samples minibatches."""
    return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(m.seed), stream) for m in members])


def map_members(fn: Callable, single: bool) -> Callable:
    """`jax.vmap(fn)` over the leading member axis of every argument and output.

    single=True (a run of one member): `fn` on the member's arrays, the axis squeezed out
    and restored; the same math without batch-1 batched matmuls, which XLA:CPU ran ~15%
    slower than plain ones on one core (on two, mixed: `benchmarks/RESULTS.md`,
    `update_forms.py`). It is not bit-identical to the
    vmapped form (last ulps), so choose it by the run's member count, never a shard's: a
    device holding one member of a sharded ensemble must keep vmap (`training.sharding`).
    """
    if not single:
        return jax.vmap(fn)

    def squeezed(*args):
        out = fn(*jax.tree.map(lambda x: x[0], args))
        return jax.tree.map(lambda x: x[None], out)

    return squeezed

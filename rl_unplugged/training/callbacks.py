"""Callbacks: what runs between the training loop's jitted chunks.

The loop calls every callback `on_start` once before the first chunk, `on_chunk`
after each chunk of `log_every` updates (with the chunk's metrics already on the
host, so a callback that only reads them adds no device sync) and `on_end` once
after the last. Representation probes are the suite's own callback.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from rl_unplugged import compile_cache
from rl_unplugged import probes as probes_lib
from rl_unplugged.agents import Learner, TrainingState
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.training.logs import Logger, member_rows


@runtime_checkable
class Callback(Protocol):
    """Hooks around the jitted core. `states` are stacked (leading axis: members).

    on_start(step, states): before the first chunk; `step` > 0 for a resumed run.
    on_chunk(step, states, metrics): after a chunk ending at update `step`; `metrics`
      maps each name to a NumPy (updates in the chunk, members) array.
    on_end(step, states): after the last chunk (not called when training raises).
    """

    def on_start(self, step: int, states: TrainingState) -> None: ...

    def on_chunk(self, step: int, states: TrainingState,
                 metrics: Mapping[str, np.ndarray]) -> None: ...

    def on_end(self, step: int, states: TrainingState) -> None: ...


def _probe(states: TrainingState, obs: jax.Array, next_obs: jax.Array, *, learner: Learner
           ) -> dict[str, jax.Array]:
    def one(params):
        both = learner.representation(params, jnp.concatenate([obs, next_obs]))
        n = obs.shape[0]
        q = learner.q_values(params, obs)
        out = probes_lib.all_probes(both.representation[:n], both.representation[n:],
                                    [a[:n] for a in both.activations])
        return {**out, "probe_q_mean": jnp.mean(q), "probe_q_max": jnp.mean(q.max(-1))}

    return jax.vmap(one)(states.params)


class RepresentationProbes:
    """Representation probes (srank, feature rank, DR3, dormant units, Q statistics).

    Dormant units follow ReDo: a dense unit or a conv channel (scored over the batch and
    its spatial positions) is one neuron; see `rl_unplugged.probes`.

    Computed at update 0 (a fresh run) and every `every` updates on a fixed batch of
    `size` dataset states, a function of the data only (`default_rng(0)`), so
    resumed and uninterrupted runs probe the same states.

    Args:
      learner: the configured learner being trained.
      data: the training transitions.
      every: updates between probes (a multiple of the loop's `log_every`).
      size: states in the probe batch (capped at the dataset's size).
      loggers: where the probe rows go (one row per member).

    Raises:
      ConfigError: `every` or `size` is not positive.
    """

    def __init__(self, learner: Learner, data: Transitions, *, every: int, size: int = 2_048,
                 loggers: Sequence[Logger] = ()):
        if every <= 0 or size <= 0:
            raise ConfigError(f"probe_every ({every}) and probe_size ({size}) must be > 0")
        self.every = every
        self.loggers = list(loggers)
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(data.size, size=min(size, data.size), replace=False))
        self._obs = jnp.asarray(np.asarray(data.observation)[idx])
        self._next_obs = jnp.asarray(np.asarray(data.next_observation)[idx])
        key = ("training.probe", learner.name, learner.config, learner.task)
        self._fn = compile_cache.cached(
            key, lambda: jax.jit(functools.partial(_probe, learner=learner)))

    def _run(self, step: int, states: TrainingState) -> None:
        values = jax.device_get(self._fn(states, self._obs, self._next_obs))
        rows = member_rows(step, values)
        for logger in self.loggers:
            logger.write(rows)

    def on_start(self, step: int, states: TrainingState) -> None:
        if step == 0:
            self._run(step, states)

    def on_chunk(self, step: int, states: TrainingState,
                 metrics: Mapping[str, np.ndarray]) -> None:
        if step % self.every == 0:
            self._run(step, states)

    def on_end(self, step: int, states: TrainingState) -> None:
        pass

"""Streamed minibatches: training on datasets larger than device memory (or RAM).

The default loop puts the whole dataset on the device and samples inside jit. With
`stream=` the dataset stays on the host, typically as memory-mapped `.npy` columns
(`data.load_transitions(..., mmap=True)` / `Store.transitions(mmap=True)`), so only
the pages a minibatch touches are read. Background threads draw each block of
`Streaming.block` updates' indices, gather the rows on the host and `device_put`
them, up to `Streaming.prefetch` blocks ahead (a bounded queue); the device runs
`lax.scan` over the block's batches of a `vmap` of the update.

Deterministic: the indices are `randint(fold_in(sample_key, step), (B,), 0, N)`, the
on-device sampler's draw, computed by the same jitted JAX function on the host CPU
(threefry is bit-exact across backends), so a streamed run equals an on-device run
bit for bit (tested). Rows are converted exactly as `inputs.to_batch` does.
Streamed runs use one device (no member sharding).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools

import jax
import numpy as np

from rl_unplugged import compile_cache
from rl_unplugged.agents import Batch, Learner, TrainingState
from rl_unplugged.data.transitions import Transitions
from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import TaskSpec
from rl_unplugged.training import ensemble

__all__ = ["Streaming", "Streamer"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Streaming:
    """How minibatches are streamed to the device.

    block: updates per device call (and per host gather): its batches take
      block x members x batch_size rows of device memory, x (prefetch + 1).
    prefetch: blocks gathered ahead of the device (the bounded queue's size).
    workers: host threads gathering blocks.
    """

    block: int = 50
    prefetch: int = 4
    workers: int = 2

    def __post_init__(self):
        for name in ("block", "prefetch", "workers"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"streaming {name} must be > 0, got {getattr(self, name)}")


def _host_device() -> jax.Device:
    """The CPU device for index draws (the default device where JAX has no CPU backend)."""
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:
        return jax.devices()[0]


def minibatch_indices(sample_key: jax.Array, step: jax.Array, *, batch_size: int, size: int
                      ) -> jax.Array:
    """(B,) row indices of one member's minibatch at `step`, drawn with replacement: the
    draw of both the on-device loop (`loop.member_step`) and this streamer."""
    return jax.random.randint(jax.random.fold_in(sample_key, step), (batch_size,), 0, size)


def _draw(sample_keys: jax.Array, steps: jax.Array, *, batch_size: int, size: int
          ) -> jax.Array:
    """(K, N, B) indices: the on-device sampler's draw for each step and member."""
    def one(key, step):
        return minibatch_indices(key, step, batch_size=batch_size, size=size)

    return jax.vmap(lambda t: jax.vmap(lambda k: one(k, t))(sample_keys))(steps)


def _block_updates(states: TrainingState, batches: Batch, *, learner: Learner,
                   single: bool = False) -> tuple[TrainingState, dict[str, jax.Array]]:
    """One update of every member per leading entry of `batches` ((K, N, B, ...)).

    single: the run has one member (`ensemble.map_members`, as the on-device loop).
    """
    return jax.lax.scan(ensemble.map_members(learner.update, single), states, batches)


class Streamer:
    """Feeds a training run's chunks from host data.

    Args:
      learner: the configured learner.
      task: the task (action dtype of the batches).
      data: host transitions (NumPy or memory-mapped columns).
      sample_keys: (N, 2) the members' sampling keys (`ensemble.member_keys(.., 1)`).
      config: block size, prefetch depth and worker threads.
    """

    def __init__(self, learner: Learner, task: TaskSpec, data: Transitions,
                 sample_keys: jax.Array, config: Streaming):
        self.learner, self.config = learner, config
        self._columns = (data.observation, data.action, data.reward, data.discount,
                         data.next_observation)
        self._dtypes = (None, task.action.dtype, np.float32, np.float32, None)
        self._host = _host_device()
        self._keys = jax.device_put(sample_keys, self._host)
        key = ("training.stream.draw", learner.config.batch_size, int(data.size))
        self._draw = compile_cache.cached(key, lambda: jax.jit(functools.partial(
            _draw, batch_size=learner.config.batch_size, size=int(data.size))))
        single = sample_keys.shape[0] == 1
        self._update = compile_cache.cached(
            ("training.stream.block", learner.name, learner.config, learner.task, single),
            lambda: jax.jit(functools.partial(_block_updates, learner=learner, single=single)))
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stops the gathering threads (blocks not yet started are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def gather(self, start: int, length: int) -> Batch:
        """The host batches of updates start..start+length-1: (length, N, B, ...) on device."""
        steps = jax.device_put(np.arange(start, start + length, dtype=np.int32), self._host)
        idx = np.asarray(self._draw(self._keys, steps))  # (K, N, B)
        flat = idx.reshape(-1)
        parts = []
        for column, dtype in zip(self._columns, self._dtypes, strict=True):
            rows = np.asarray(column)[flat] if dtype is None else \
                np.asarray(column)[flat].astype(dtype)
            parts.append(rows.reshape(idx.shape + rows.shape[1:]))
        return jax.device_put(Batch(*parts))

    def start(self, start: int, steps: int, log_every: int) -> None:
        """Begins gathering the blocks of updates start..steps-1 in the background.

        Blocks never straddle the loop's chunks (`log_every` updates from 0).
        """
        bounds = []
        for chunk in range(start, steps, log_every):
            end = min(chunk + log_every, steps)
            bounds += [(s, min(self.config.block, end - s))
                       for s in range(chunk, end, self.config.block)]
        self._pool = concurrent.futures.ThreadPoolExecutor(self.config.workers,
                                                           thread_name_prefix="rlu-stream")
        self._todo = iter(bounds)
        self._pending: collections.deque = collections.deque()
        for bound in self._todo:
            self._pending.append((bound, self._pool.submit(self.gather, *bound)))
            if len(self._pending) >= self.config.prefetch:
                break

    def run(self, states: TrainingState, start: int, length: int
            ) -> tuple[TrainingState, dict[str, jax.Array]]:
        """The loop's chunk: updates start..start+length-1 -> (states, metrics (K, N))."""
        metrics, step = [], start
        while step < start + length:
            (first, count), future = self._pending.popleft()
            if first != step:
                raise RuntimeError(f"streamed block starts at {first}, expected {step}")
            nxt = next(self._todo, None)
            if nxt is not None:
                self._pending.append((nxt, self._pool.submit(self.gather, *nxt)))
            states, m = self._update(states, future.result())
            metrics.append(m)
            step += count
        if len(metrics) == 1:
            return states, metrics[0]
        return states, jax.tree.map(lambda *xs: jax.numpy.concatenate(xs), *metrics)

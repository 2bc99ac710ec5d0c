"""A fixed-size NumPy ring of transitions for the behaviour agents (DQN, D4PG).

Memory is allocated once (`capacity` rows); the oldest transitions are overwritten.
Sampling is uniform with replacement over the filled rows, from NumPy generators
seeded by (seed, block of SGD steps), so a sample is a pure function of the seed,
the SGD-step index and the buffer contents: nothing needs saving to resume it.
"""

from __future__ import annotations

import numpy as np

# Uniforms are drawn for this many SGD steps at a time (one generator per block).
SAMPLE_BLOCK = 1024
_SAMPLE_STREAM = 3


class ReplayBuffer:
    """Transitions (o, a, r, d, o'); d = 0 only when o' is a true terminal state.

    Actions are int32 scalars (the DQN's) unless `action_shape` is given: float32
    vectors (A,) (the D4PG's). The D4PG stores n-step transitions: r the discounted sum
    of n rewards and d = gamma^n (0 at a termination).
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype, seed: int,
                 batch_size: int, action_shape: tuple[int, ...] = ()):
        self.capacity = capacity
        self.batch_size = batch_size
        self._seed = seed
        self.observation = np.zeros((capacity, *obs_shape), obs_dtype)
        self.next_observation = np.zeros((capacity, *obs_shape), obs_dtype)
        self.action = np.zeros((capacity, *action_shape),
                               np.float32 if action_shape else np.int32)
        self.reward = np.zeros(capacity, np.float32)
        self.discount = np.zeros(capacity, np.float32)
        self.position = 0  # Next row written.
        self.size = 0
        self._block = -1
        self._uniforms = np.empty((0, batch_size))

    def add(self, obs, action: int, reward: float, discount: float, next_obs) -> None:
        i = self.position
        self.observation[i] = obs
        self.next_observation[i] = next_obs
        self.action[i] = action
        self.reward[i] = reward
        self.discount[i] = discount
        self.position = (i + 1) % self.capacity
        if self.size < self.capacity:
            self.size += 1

    def sample(self, sgd_step: int) -> tuple[np.ndarray, ...]:
        """The batch of SGD step `sgd_step`: (obs, action, reward, discount, next_obs)."""
        block, row = divmod(sgd_step, SAMPLE_BLOCK)
        if block != self._block:
            rng = np.random.default_rng(np.random.SeedSequence([self._seed, _SAMPLE_STREAM,
                                                                block]))
            self._uniforms = rng.random((SAMPLE_BLOCK, self.batch_size))
            self._block = block
        idx = (self._uniforms[row] * self.size).astype(np.int64)
        return (self.observation[idx], self.action[idx], self.reward[idx], self.discount[idx],
                self.next_observation[idx])

    def state(self) -> dict[str, np.ndarray]:
        n = self.size
        return {"replay/observation": self.observation[:n],
                "replay/next_observation": self.next_observation[:n],
                "replay/action": self.action[:n], "replay/reward": self.reward[:n],
                "replay/discount": self.discount[:n],
                "replay/position": np.int64(self.position), "replay/size": np.int64(n)}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        n = int(state["replay/size"])
        if n > self.capacity:
            raise ValueError(f"resume state holds {n} transitions; capacity is {self.capacity}")
        for name in ("observation", "next_observation", "action", "reward", "discount"):
            getattr(self, name)[:n] = state[f"replay/{name}"]
        self.size = n
        self.position = int(state["replay/position"])

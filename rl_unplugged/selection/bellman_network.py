"""SBV's neural "Bellman network": an MLP regression of Bellman targets on (s, a).

Zitovsky et al. 2023, Sec. 4: B(s, a) approximates E[Y | s, a] and is fitted by
supervised learning. The network reads standardised flattened states and has one output
per action (the taken action's output is regressed on Y). `fit_predict` fits one network
per target column, vmapped over columns, so a pool of candidates is one compiled call.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rl_unplugged import compile_cache
from rl_unplugged.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class BellmanNetworkConfig:
    """hidden: layer widths; steps: Adam steps; batch_size: minibatch (full batch when the
    data are smaller); learning_rate; weight_decay (AdamW); seed: init and batches."""

    hidden: tuple[int, ...] = (64, 64)
    steps: int = 500
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or not self.hidden:
            raise ConfigError("BellmanNetworkConfig: steps, batch_size >= 1 and hidden "
                              "non-empty needed")


class _Net(nn.Module):
    hidden: tuple[int, ...]
    num_actions: int

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.num_actions)(x)


def _build(config: BellmanNetworkConfig, num_actions: int, n: int, dim: int):
    net = _Net(config.hidden, num_actions)
    opt = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    batch = min(config.batch_size, n)

    def fit_one(x, a, y, x_eval, key):
        init_key, key = jax.random.split(key)
        params = net.init(init_key, x[:1])
        # Targets are standardised per column so one learning rate suits every candidate.
        mu, sd = y.mean(), jnp.maximum(y.std(), 1e-6)
        yz = (y - mu) / sd

        def loss(p, idx):
            out = net.apply(p, x[idx])
            pred = jnp.take_along_axis(out, a[idx, None], axis=-1)[:, 0]
            return jnp.mean((pred - yz[idx]) ** 2)

        def step(carry, k):
            p, s = carry
            idx = jax.random.randint(k, (batch,), 0, n)
            g = jax.grad(loss)(p, idx)
            updates, s = opt.update(g, s, p)
            return (optax.apply_updates(p, updates), s), None

        (params, _), _ = jax.lax.scan(step, (params, opt.init(params)),
                                      jax.random.split(key, config.steps))
        return net.apply(params, x_eval) * sd + mu  # (N_eval, A)

    return jax.jit(jax.vmap(fit_one, in_axes=(None, None, 1, None, None)))


def fit_predict(x: np.ndarray, action: np.ndarray, targets: np.ndarray, x_eval: np.ndarray,
                num_actions: int, config: BellmanNetworkConfig) -> np.ndarray:
    """Fits one network per target column and predicts all actions at `x_eval`.

    Args:
      x: (N, D) standardised flat states; action: (N,) ints; targets: (N, M) one column
        per candidate; x_eval: (K, D).

    Returns:
      (M, K, A) predictions B_m(s, a).
    """
    fn = compile_cache.cached(("selection.bellman_network", config, num_actions, x.shape,
                               x_eval.shape[0]),
                              lambda: _build(config, num_actions, x.shape[0], x.shape[1]))
    out = fn(jnp.asarray(x, jnp.float32), jnp.asarray(action, jnp.int32),
             jnp.asarray(targets, jnp.float32), jnp.asarray(x_eval, jnp.float32),
             jax.random.PRNGKey(config.seed))
    return np.asarray(out, np.float64)

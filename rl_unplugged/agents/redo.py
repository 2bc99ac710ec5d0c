"""ReDo: recycling dormant neurons (Sokar et al. 2023, "The Dormant Neuron Phenomenon in
Deep Reinforcement Learning", Alg. 1), written once for every learner's networks.

Unit i of a hidden layer is tau-dormant on a batch when its score
s_i = E|h_i| / ((1/H) sum_k E|h_k|) <= tau (Def. 3.1). Every `redo_every` updates, the
incoming weights (kernel column and bias) of each dormant unit are re-initialised from
a fresh initialisation of the network, its outgoing weights (the next layer's kernel
rows) are zeroed, and Adam's moments of both are reset to zero. A convolution's
neurons are its channels (scores averaged over batch and positions), as in Dopamine's
`weight_recyclers.py`; the dense layer after it then loses the rows of that channel
at every position.

The networks are Flax modules of `rl_unplugged.networks` (or shaped like them): a torso
submodule of `Conv_*`/`Dense_*` layers whose activations the network returns, then one
head `Dense_0`. The recycle runs inside the jitted update under `lax.cond`; in a vmapped
ensemble the condition is batched, so XLA evaluates both branches each update: ReDo
costs one forward pass and one network initialisation per update when switched on,
nothing when off (`redo_every == 0`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

Params = Any
Path = tuple[str, ...]


def layer_chain(params: Params) -> list[Path]:
    """Paths of the hidden layers in order, then the head: [('params', 'torso', 'Dense_0'), ...,
    ('params', 'Dense_0')]."""
    top = params["params"]
    torsos = [k for k, v in top.items() if not k.startswith(("Dense_", "Conv_"))
              and isinstance(v, dict)]
    if len(torsos) != 1 or "Dense_0" not in top:
        raise ValueError(f"ReDo needs a torso submodule and one Dense_0 head; got {list(top)}")
    torso = top[torsos[0]]

    def order(name: str) -> tuple[int, int]:
        kind, index = name.split("_")
        return (0 if kind == "Conv" else 1, int(index))

    hidden = [("params", torsos[0], name) for name in sorted(torso, key=order)]
    return [*hidden, ("params", "Dense_0")]


def _get(tree: Params, path: Path) -> dict:
    for k in path:
        tree = tree[k]
    return tree


def _set(tree: Params, path: Path, value: dict) -> Params:
    if not path:
        return value
    return {**tree, path[0]: _set(tree[path[0]], path[1:], value)}


def unit_scores(activation: jax.Array, units: int) -> jax.Array:
    """Normalised scores s_i (units,) of one layer's activations (B, ..., units) or a
    conv layer's flattened (B, positions * units) (channels last)."""
    per_unit = jnp.mean(jnp.abs(activation.reshape(activation.shape[0], -1, units)), axis=(0, 1))
    return per_unit / jnp.maximum(jnp.mean(per_unit), 1e-12)


def dormant_masks(params: Params, activations: Sequence[jax.Array], tau: float | jax.Array
                  ) -> list[jax.Array]:
    """Per hidden layer, a (units,) bool mask of its tau-dormant units (s_i <= tau)."""
    chain = layer_chain(params)
    if len(activations) != len(chain) - 1:
        raise ValueError(f"{len(activations)} activations for {len(chain) - 1} hidden layers")
    return [unit_scores(a, _get(params, p)["bias"].shape[-1]) <= tau
            for a, p in zip(activations, chain[:-1], strict=True)]


def _recycle_tree(tree: Params, fresh: Params | None, masks: Sequence[jax.Array]) -> Params:
    """Incoming weights of masked units <- `fresh` (zeros if None); outgoing weights <- 0."""
    chain = layer_chain(tree)
    for i, mask in enumerate(masks):  # All incoming weights first, then all outgoing ones.
        layer = _get(tree, chain[i])
        new_in = (_get(fresh, chain[i]) if fresh is not None
                  else jax.tree.map(jnp.zeros_like, layer))
        tree = _set(tree, chain[i], {k: jnp.where(mask, new_in[k], v) for k, v in layer.items()})
    for i, mask in enumerate(masks):
        nxt = _get(tree, chain[i + 1])
        kernel = nxt["kernel"]
        # Rows of the next kernel grouped by unit: (..., units, out) for a dense or conv
        # kernel fed by a dense layer, (positions * units, out) after a flattened conv.
        grouped = kernel.reshape(-1, mask.shape[0], kernel.shape[-1])
        grouped = jnp.where(mask[None, :, None], 0.0, grouped)
        tree = _set(tree, chain[i + 1], {**nxt, "kernel": grouped.reshape(kernel.shape)})
    return tree


def recycle(params: Params, moments: Sequence[Params], fresh: Params,
            activations: Sequence[jax.Array], tau: float | jax.Array
            ) -> tuple[Params, list[Params]]:
    """One ReDo step on one network.

    Args:
      params: the network's Flax params.
      moments: optimizer moment trees shaped like `params` (Adam's mu and nu); reset
        wherever the weights change.
      fresh: a fresh initialisation of the same network (new incoming weights).
      activations: the network's hidden activations on a batch (`NetworkOutput.activations`).
      tau: dormancy threshold.
    Returns:
      (params, moments) after the recycle.
    """
    masks = dormant_masks(params, activations, tau)
    return (_recycle_tree(params, fresh, masks),
            [_recycle_tree(m, None, masks) for m in moments])


def _is_adam(node: Any) -> bool:
    return isinstance(node, optax.ScaleByAdamState)


def adam_moments(opt_state: optax.OptState) -> list[Params]:
    """[mu, nu] of the (single) Adam inside `opt_state` (e.g. `inject_hyperparams(adam)`)."""
    found = [n for n in jax.tree.leaves(opt_state, is_leaf=_is_adam) if _is_adam(n)]
    if len(found) != 1:
        raise ValueError(f"ReDo needs exactly one Adam state in the optimizer, found {len(found)}")
    return [found[0].mu, found[0].nu]


def with_adam_moments(opt_state: optax.OptState, moments: Sequence[Params]) -> optax.OptState:
    """`opt_state` with its Adam mu and nu replaced."""
    mu, nu = moments
    return jax.tree.map(lambda n: n._replace(mu=mu, nu=nu) if _is_adam(n) else n, opt_state,
                        is_leaf=_is_adam)


def recycle_with_optimizer(params: Params, opt_state: optax.OptState, fresh: Params,
                           activations: Sequence[jax.Array], tau: float | jax.Array
                           ) -> tuple[Params, optax.OptState]:
    """`recycle` of a network trained by one Adam: (params, opt_state) after the recycle."""
    params, moments = recycle(params, adam_moments(opt_state), fresh, activations, tau)
    return params, with_adam_moments(opt_state, moments)


def every(update: Callable, recycle_fn: Callable, period: int) -> Callable:
    """`update` followed, every `period` updates, by `recycle_fn(state, batch) -> state`."""

    def wrapped(state, batch):
        state, metrics = update(state, batch)
        state = jax.lax.cond(state.step % period == 0, lambda s: recycle_fn(s, batch),
                             lambda s: s, state)
        return state, metrics

    return wrapped

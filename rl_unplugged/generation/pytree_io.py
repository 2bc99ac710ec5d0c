"""Pytrees <-> flat dicts of NumPy arrays, for resume states saved with `np.savez`.

Leaves are stored under `<prefix><index>` in `jax.tree_util` flattening order; the
structure comes back from a template pytree (e.g. a freshly initialised agent), and
every leaf's shape and dtype is checked against it, so a state saved by another
configuration is refused instead of silently mis-assigned.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def to_flat_dict(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    """Copies the leaves of `tree` to host NumPy arrays keyed `<prefix><i:04d>`."""
    leaves = jax.tree_util.tree_leaves(tree)
    return {f"{prefix}{i:04d}": np.asarray(leaf) for i, leaf in enumerate(leaves)}


def from_flat_dict(template: Any, flat: dict[str, np.ndarray], prefix: str) -> Any:
    """Rebuilds a pytree shaped like `template` from `to_flat_dict` output.

    Raises:
      ValueError: a leaf is missing, extra, or has another shape or dtype.
    """
    leaves, treedef = jax.tree_util.tree_flatten(template)
    keys = sorted(k for k in flat if k.startswith(prefix))
    if len(keys) != len(leaves):
        raise ValueError(f"resume state has {len(keys)} '{prefix}' leaves, expected {len(leaves)}")
    out = []
    for i, leaf in enumerate(leaves):
        key = f"{prefix}{i:04d}"
        value = flat.get(key)
        leaf = np.asarray(leaf)
        if value is None or value.shape != leaf.shape or value.dtype != leaf.dtype:
            got = None if value is None else (value.shape, value.dtype)
            raise ValueError(f"resume state leaf {key}: got {got}, expected "
                             f"{(leaf.shape, leaf.dtype)}")
        out.append(jax.numpy.asarray(value))
    return jax.tree_util.tree_unflatten(treedef, out)

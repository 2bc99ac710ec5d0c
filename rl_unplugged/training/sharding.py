"""Ensemble members sharded over devices: a 1-d mesh, members along its axis.

An ensemble's states are stacked along a leading member axis, and the members never
interact, so the loop's fused chunk (`loop._scan_updates`) runs unchanged on each
device over its own block of members: states and sampling keys are placed with
`NamedSharding(mesh, P('members'))`, the dataset is replicated on every device
(`P()`), each device runs the single-device executable on its shards
(`run_chunk`), and the results are assembled into global arrays again (metrics
(K, N), members axis sharded). Every member's numbers are those of the unsharded
run: the vmapped update gives the same per-member bits for any member count
(tested on CPU with `XLA_FLAGS=--xla_force_host_platform_device_count=2`), whereas
`shard_map`/GSPMD compile through XLA's SPMD pipeline, which rewrites the update
slightly differently (last-ulp differences after one update).

Which devices: all of `jax.devices()`. When the member count N is not a multiple of
the device count D, the mesh uses the largest divisor of N that is <= D devices (no
padding: a padded member would cost a whole learner's compute and change the
compiled shapes); N = 1 or D = 1 gives no mesh and the loop's single-device path,
exactly as before. (A one-member run maps its update unbatched, `ensemble.map_members`;
the choice follows the run's member count, so a device's one-member shard keeps vmap.)

Multi-host: call `jax.distributed.initialize()` (coordinator address, process count
and id, or the cluster's auto-detection on Cloud TPU / SLURM / Kubernetes) in every
process before anything else touches JAX, and run the same `train`/`fit` call in each
with the same data. `jax.devices()` then lists every process's devices, so the mesh
spans all hosts and each host computes only its own members; metrics and states are
gathered to every host (`multihost_utils.process_allgather`) before loggers, callbacks
and checkpoints see them (on one host, callbacks and checkpoints see the members
gathered on the first device, `gather`), so each process writes identical files (give each process
its own `out_dir`, or only let process 0 keep its run directory).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "members"

__all__ = ["AXIS", "member_mesh", "place", "gather", "run_chunk", "to_host"]


def member_mesh(num_members: int, devices: Sequence[jax.Device] | None = None) -> Mesh | None:
    """The 1-d mesh the members are sharded over, or None for the single-device path.

    Args:
      num_members: ensemble members N.
      devices: the devices to use (default: `jax.devices()`, all hosts' devices).

    Returns:
      A Mesh over the first d devices, d the largest divisor of N that is <= the
      device count, or None when d == 1.
    """
    devices = list(jax.devices() if devices is None else devices)
    count = max(d for d in range(1, min(len(devices), num_members) + 1) if num_members % d == 0)
    if count == 1:
        return None
    return Mesh(np.array(devices[:count]), (AXIS,))


def place(tree: Any, mesh: Mesh, *, replicated: bool = False) -> Any:
    """`tree` on the mesh: leading axis split over the members (or replicated)."""
    sharding = NamedSharding(mesh, P() if replicated else P(AXIS))
    return jax.device_put(tree, sharding)


def _local_blocks(tree: Any, devices: Sequence[jax.Device]) -> list[Any]:
    """Per device, `tree` with each leaf replaced by that device's shard."""
    leaves, treedef = jax.tree.flatten(tree)
    shards = [{s.device: s.data for s in leaf.addressable_shards} for leaf in leaves]
    return [jax.tree.unflatten(treedef, [sh[d] for sh in shards]) for d in devices]


def _assemble(blocks: Sequence[Any], mesh: Mesh, spec: P, axis: int) -> Any:
    """Global arrays (sharded by `spec`) from per-device blocks split along `axis`."""
    sharding = NamedSharding(mesh, spec)
    devices = mesh.devices.size

    def one(*parts):
        shape = list(parts[0].shape)
        shape[axis] *= devices
        return jax.make_array_from_single_device_arrays(tuple(shape), sharding, list(parts))

    return jax.tree.map(one, *blocks)


def run_chunk(chunk: Callable, mesh: Mesh, states: Any, sample_keys: jax.Array, data: Any
              ) -> tuple[Any, Any]:
    """`chunk(states, sample_keys, data) -> (states, metrics (K, N))` over the mesh.

    States and keys are sharded (`place`), the data replicated; each of this process's
    devices runs the single-device executable of `chunk` on its block of members
    (dispatch is asynchronous, so the devices run concurrently). Not `shard_map`/GSPMD:
    XLA's SPMD pipeline simplifies the update differently (e.g. Adam's bias-correction
    divide), which moves results by an ulp; the single-device program keeps every
    member's numbers those of the unsharded run.
    """
    devices = [d for d in mesh.devices.flat if d.process_index == jax.process_index()]
    outs = [chunk(s, k, x) for s, k, x in zip(_local_blocks(states, devices),
                                               _local_blocks(sample_keys, devices),
                                               _local_blocks(data, devices), strict=True)]
    new_states = _assemble([o[0] for o in outs], mesh, P(AXIS), 0)
    metrics = _assemble([o[1] for o in outs], mesh, P(None, AXIS), 1)
    return new_states, metrics


def gather(tree: Any, mesh: Mesh) -> Any:
    """Every member of `tree` on one device (the mesh's first; NumPy when multi-host).

    What callbacks and checkpoints see: their jitted functions (probes) then compile
    for one device, as in the unsharded run, and give the same numbers.
    """
    if jax.process_count() > 1:
        return to_host(tree)
    return jax.device_put(tree, mesh.devices.flat[0])


def to_host(tree: Any) -> Any:
    """NumPy copies of `tree`'s arrays, gathered from every process when multi-host."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)

"""Updates/s with the dataset on the device vs streamed from memory-mapped columns.

The dataset is 4x a device-memory budget (`--budget-mb`): too large for a device of
that budget, so the streamed path (`training.train(..., stream=Streaming(...))`, host
threads gathering minibatches from `.npy` columns opened with `mmap_mode='r'` and
prefetching them to the device) is the one that would run there; the on-device
path is run too, on the same machine, as the reference rate. On CPU the "device" is
host memory, so the budget is set artificially (default 16 MiB, a 64 MiB dataset);
on a GPU pass the device's real budget (e.g. `--budget-mb 60000` on an 80 GB card
with room for the model). Same learner, seeds and batches on both paths (streamed
runs equal on-device runs bit for bit).

  python benchmarks/streaming.py [--device cpu|gpu] [--budget-mb 16] [--obs-dim 64]
      [--steps 600] [--members 1] [--block 50] [--prefetch 4] [--workers 2]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_columns(directory: Path, num: int, obs_dim: int, seed: int = 0) -> None:
    """Synthetic transitions as .npy columns, written in blocks (never all in RAM)."""
    rng = np.random.default_rng(seed)
    shapes = {"observation": (num, obs_dim), "next_observation": (num, obs_dim),
              "action": (num,), "reward": (num,), "discount": (num,)}
    dtypes = {"action": np.int32}
    out = {k: np.lib.format.open_memmap(directory / f"{k}.npy", mode="w+",
                                        dtype=dtypes.get(k, np.float32), shape=shape)
           for k, shape in shapes.items()}
    block = 65_536
    for i in range(0, num, block):
        n = min(block, num - i)
        out["observation"][i:i + n] = rng.normal(size=(n, obs_dim))
        out["next_observation"][i:i + n] = rng.normal(size=(n, obs_dim))
        out["action"][i:i + n] = rng.integers(2, size=n)
        out["reward"][i:i + n] = rng.normal(size=n)
        out["discount"][i:i + n] = rng.random(n) > 0.01
    for array in out.values():
        array.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--budget-mb", type=float, default=16.0,
                        help="the device-memory budget the dataset is 4x of")
    parser.add_argument("--obs-dim", type=int, default=64)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--log-every", type=int, default=200)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--prefetch", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cuda" if args.device == "gpu" else "cpu")
    sys.path.insert(0, str(REPO))
    import dataclasses

    import jax

    from rl_unplugged import registry, training
    from rl_unplugged.data.transitions import Transitions
    from rl_unplugged.specs import ArraySpec
    from rl_unplugged.training.streaming import Streaming

    row_bytes = 2 * 4 * args.obs_dim + 3 * 4  # s, s' float32; action, reward, discount.
    num = int(4 * args.budget_mb * 2**20 // row_bytes)
    base = registry.get_task("classic/cartpole")  # 2 actions; observation widened below.
    task = dataclasses.replace(base, observation=ArraySpec(shape=(args.obs_dim,),
                                                           dtype="float32"))
    report = {"device": str(jax.devices()[0]), "budget_bytes": int(args.budget_mb * 2**20),
              "dataset_bytes": num * row_bytes, "transitions": num, "obs_dim": args.obs_dim,
              "members": args.members, "steps": args.steps,
              "streaming": {"block": args.block, "prefetch": args.prefetch,
                            "workers": args.workers}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_columns(tmp, num, args.obs_dim)
        cols = {k: np.load(tmp / f"{k}.npy", mmap_mode="r") for k in
                ("observation", "action", "reward", "discount", "next_observation")}
        data = Transitions(cols["observation"], cols["action"], cols["reward"],
                           cols["discount"], cols["next_observation"],
                           np.zeros(num, np.int64), np.zeros(num, np.int32))
        kw = dict(config={"hidden": (256, 256), "batch_size": 256}, steps=args.steps,
                  seeds=range(args.members), log_every=args.log_every, probe_every=None,
                  checkpoint_every=None, make_plots=False)
        streamed = training.train("dqn", data, task, stream=Streaming(
            block=args.block, prefetch=args.prefetch, workers=args.workers), **kw)
        on_device = training.train("dqn", data, task, **kw)
    report["streamed_updates_per_s"] = streamed.updates_per_s
    report["on_device_updates_per_s"] = on_device.updates_per_s
    if streamed.updates_per_s and on_device.updates_per_s:
        report["streamed_over_on_device"] = streamed.updates_per_s / on_device.updates_per_s
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

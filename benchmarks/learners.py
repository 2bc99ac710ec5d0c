"""Learner throughput: this suite's BC / DQN / CQL against d3rlpy 2.8.1, same data, same run.

Synthetic data: 100k transitions, obs dim 4, 2 actions, episodes of 100 steps; MLP
256x256, batch 256. The JAX side runs `rl_unplugged.training.train` with the suite's
features on (metrics every 1000 updates, probes every 2000 on 2048 states,
checkpoints every 2000, JSONL logs); its rate is the steady state after the
compiling call. The d3rlpy side (`fit`, NoopAdapter, no evaluators) runs in its own
venv as a subprocess on the same .npz. The machine's float32 matmul peak is measured
in the same run, and each learner's achieved FLOP/s (XLA's cost analysis of one
update) is reported as a fraction of it.

  python benchmarks/learners.py [--device cpu|gpu] [--steps 6000] [--d3rlpy-steps 1000]
      [--d3rlpy-python .venv-d3rlpy/bin/python] [--no-d3rlpy]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ALGOS = ("bc", "dqn", "cql")


def synthetic(num: int = 100_000, obs_dim: int = 4, num_actions: int = 2, episode: int = 100,
              seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(num + 1, obs_dim)).astype(np.float32)
    last = (np.arange(num) % episode) == episode - 1
    return {"observation": obs[:-1], "next_observation": obs[1:],
            "action": rng.integers(num_actions, size=num).astype(np.int32),
            "reward": rng.normal(size=num).astype(np.float32),
            "terminal": last.astype(np.float32), "timeout": np.zeros(num, np.float32),
            "num_actions": np.int64(num_actions)}


def matmul_peak(n: int = 2048, repeats: int = 20) -> float:
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def jax_side(name: str, arrays: dict, steps: int, out: Path) -> dict:
    import jax

    from rl_unplugged import agents, registry, training
    from rl_unplugged.agents import Batch
    from rl_unplugged.data.transitions import Transitions

    task = registry.get_task("classic/cartpole")  # obs dim 4, 2 actions.
    n = len(arrays["reward"])
    data = Transitions(arrays["observation"], arrays["action"], arrays["reward"],
                       1.0 - arrays["terminal"], arrays["next_observation"],
                       np.arange(n) // 100, (np.arange(n) % 100).astype(np.int32))
    config = agents.make_config(name, hidden=(256, 256), batch_size=256,
                                **({"target_update_period": 2000} if name != "bc" else {}))
    run = training.train(name, data, task, config=config, steps=steps, log_every=1000,
                         probe_every=2000, checkpoint_every=2000, out_dir=out / name,
                         make_plots=False)
    learner = agents.make_learner(name, task, config)
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    batch = Batch(*(jax.numpy.asarray(x[:256]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))
    cost = jax.jit(learner.update).lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return {"updates_per_s": run.updates_per_s,
            "flops_per_update": float(cost.get("flops", float("nan")))}


def d3rlpy_side(python: str, name: str, data: Path, steps: int, device: str) -> float:
    proc = subprocess.run(
        [python, str(Path(__file__).with_name("_d3rlpy_side.py")), str(data), str(steps),
         device, name], capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("D3RLPY_JSON ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"d3rlpy side failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1].split(" ", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--steps", type=int, default=6000, help="JAX updates per algorithm")
    parser.add_argument("--d3rlpy-steps", type=int, default=1000)
    parser.add_argument("--d3rlpy-python", default=str(REPO / ".venv-d3rlpy/bin/python"))
    parser.add_argument("--no-d3rlpy", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cuda" if args.device == "gpu" else "cpu")
    sys.path.insert(0, str(REPO))
    import jax

    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "cpu_count": os.cpu_count(), "jax": jax.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arrays = synthetic()
        np.savez(tmp / "data.npz", **arrays)
        report["matmul_peak_flops"] = matmul_peak()
        report["jax"], report["d3rlpy"] = {}, {}
        # Interleaved per algorithm, so both sides see similar load on shared cores.
        for name in ALGOS:
            report["jax"][name] = jax_side(name, arrays, args.steps, tmp / "runs")
            if not args.no_d3rlpy:
                torch_device = "cuda:0" if args.device == "gpu" else "cpu:0"
                side = d3rlpy_side(args.d3rlpy_python, name, tmp / "data.npz",
                                   args.d3rlpy_steps, torch_device)
                report["d3rlpy"][name] = side.pop(name)
                report["d3rlpy"][f"{name}_whole_fit"] = side.pop(f"{name}_whole_fit")
                report["d3rlpy_versions"] = side
        # A second matmul measurement after the learners, to show drift from shared cores.
        report["matmul_peak_flops_after"] = matmul_peak()
    peak = max(report["matmul_peak_flops"], report["matmul_peak_flops_after"])
    for name, r in report["jax"].items():
        r["fraction_of_matmul_peak"] = r["updates_per_s"] * r["flops_per_update"] / peak
        if name in report["d3rlpy"]:
            r["speedup_vs_d3rlpy"] = r["updates_per_s"] / report["d3rlpy"][name]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Learner throughput: this suite's learners against d3rlpy 2.8.1, same data, same run.

Discrete rows (BC / DQN / CQL): 100k synthetic transitions, obs dim 4, 2 actions,
episodes of 100 steps. Continuous rows (bc_gaussian / td3_bc / cql_sac / iql, against
d3rlpy's BC (stochastic policy) / TD3PlusBC / CQL / IQL): 100k synthetic transitions,
obs dim 17, 6 actions in [-1, 1] (HalfCheetah's sizes). MLP 256x256, batch 256.
The JAX side runs `rl_unplugged.training.train` with the suite's features on
(metrics every 1000 updates, probes every 2000 on 2048 states, checkpoints every
2000, JSONL logs); its rate is the steady state after the
compiling call. The d3rlpy side (`fit`, NoopAdapter, no evaluators) runs in its own
venv as a subprocess on the same .npz. The machine's float32 matmul peak is measured
in the same run, and each learner's achieved FLOP/s (XLA's cost analysis of one
update) is reported as a fraction of it.

Continuous rows also run a second anchor, `plain_jax` (JAX-CORL / Unifloral style): the
same pure `learner.update` of one member, jitted into a hand-written `lax.scan` of K
updates with minibatches sampled inside jit, and nothing else (no vmap, no metric
checks, logs, probes or checkpoints): the suite's features should cost little on top.

  python benchmarks/learners.py [--device cpu|gpu] [--steps 6000] [--d3rlpy-steps 1000]
      [--d3rlpy-python .venv-d3rlpy/bin/python] [--no-d3rlpy] [--only discrete|continuous]

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
CONTINUOUS_ALGOS = ("bc_gaussian", "td3_bc", "cql_sac", "iql")
CONTINUOUS_OBS, CONTINUOUS_ACTIONS = 17, 6


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


def synthetic_continuous(num: int = 100_000, obs_dim: int = CONTINUOUS_OBS,
                         action_dim: int = CONTINUOUS_ACTIONS, episode: int = 1000,
                         seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(num + 1, obs_dim)).astype(np.float32)
    last = (np.arange(num) % episode) == episode - 1
    return {"observation": obs[:-1], "next_observation": obs[1:],
            "action": rng.uniform(-1, 1, size=(num, action_dim)).astype(np.float32),
            "reward": rng.normal(size=num).astype(np.float32),
            "terminal": last.astype(np.float32), "timeout": np.zeros(num, np.float32),
            "num_actions": np.int64(0)}


def continuous_task():
    """A continuous TaskSpec of the synthetic data's sizes (not registered)."""
    import dataclasses

    from rl_unplugged import registry
    from rl_unplugged.specs import ActionSpec, ArraySpec

    return dataclasses.replace(
        registry.get_task("classic/cartpole"), name="bench_continuous", num_actions=None,
        observation=ArraySpec(shape=(CONTINUOUS_OBS,), dtype="float32"),
        action=ActionSpec.continuous([-1.0] * CONTINUOUS_ACTIONS, [1.0] * CONTINUOUS_ACTIONS))


def plain_jax(learner, data, steps: int, chunk: int = 1000) -> float:
    """Updates/s of `learner.update` alone in a hand-written jitted scan (one member)."""
    import jax

    from rl_unplugged.training.inputs import to_batch

    batch_data = to_batch(data, learner.task)
    size, batch_size = data.size, learner.config.batch_size

    @jax.jit
    def run(state, key):
        def body(state, k):
            idx = jax.random.randint(k, (batch_size,), 0, size)
            state, metrics = learner.update(state, jax.tree.map(lambda x: x[idx], batch_data))
            return state, metrics["loss"]

        return jax.lax.scan(body, state, jax.random.split(key, chunk))

    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    key = jax.random.PRNGKey(1)
    state, loss = run(state, key)  # Compiles.
    loss.block_until_ready()
    chunks = max(1, steps // chunk - 1)
    t0 = time.perf_counter()
    for i in range(chunks):
        state, loss = run(state, jax.random.fold_in(key, i))
    loss.block_until_ready()
    return chunks * chunk / (time.perf_counter() - t0)


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

    continuous = name in CONTINUOUS_ALGOS
    # obs dim 4, 2 actions (discrete); obs dim 17, 6 actions (continuous).
    task = continuous_task() if continuous else registry.get_task("classic/cartpole")
    n = len(arrays["reward"])
    data = Transitions(arrays["observation"], arrays["action"], arrays["reward"],
                       1.0 - arrays["terminal"], arrays["next_observation"],
                       np.arange(n) // 100, (np.arange(n) % 100).astype(np.int32))
    config = agents.make_config(name, hidden=(256, 256), batch_size=256,
                                **({"target_update_period": 2000}
                                   if name in ("dqn", "cql") else {}))
    # 1000/2000 at the default sizes; a tiny run (--steps 200) still times two chunks.
    log_every = min(1000, max(1, steps // 4))
    run = training.train(name, data, task, config=config, steps=steps, log_every=log_every,
                         probe_every=2 * log_every, checkpoint_every=2 * log_every,
                         out_dir=out / name, make_plots=False)
    learner = agents.make_learner(name, task, config)
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    batch = Batch(*(jax.numpy.asarray(x[:256]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))
    cost = jax.jit(learner.update).lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    out = {"updates_per_s": run.updates_per_s,
           "flops_per_update": float(cost.get("flops", float("nan")))}
    if continuous:
        out["plain_jax_updates_per_s"] = plain_jax(learner, data, steps, chunk=log_every)
        out["vs_plain_jax"] = out["updates_per_s"] / out["plain_jax_updates_per_s"]
    return out


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
    parser.add_argument("--only", choices=("discrete", "continuous"), default=None,
                        help="run only these rows")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cuda" if args.device == "gpu" else "cpu")
    sys.path.insert(0, str(REPO))
    import jax

    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "cpu_count": os.cpu_count(), "jax": jax.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {"discrete": (synthetic(), ALGOS),
                "continuous": (synthetic_continuous(), CONTINUOUS_ALGOS)}
        for kind, (arrays, _) in sets.items():
            np.savez(tmp / f"{kind}.npz", **arrays)
        report["matmul_peak_flops"] = matmul_peak()
        report["jax"], report["d3rlpy"] = {}, {}
        rows = [(kind, name) for kind, (_, names) in sets.items() for name in names
                if args.only in (None, kind)]
        # Interleaved per algorithm, so both sides see similar load on shared cores.
        for kind, name in rows:
            report["jax"][name] = jax_side(name, sets[kind][0], args.steps, tmp / "runs")
            if not args.no_d3rlpy:
                torch_device = "cuda:0" if args.device == "gpu" else "cpu:0"
                side = d3rlpy_side(args.d3rlpy_python, name, tmp / f"{kind}.npz",
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

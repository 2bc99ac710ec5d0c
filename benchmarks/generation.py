"""Benchmark: logged dataset generation vs bare environment stepping (prints JSON).

Anchor, measured in the same run: stepping the same environment with the same
policy (the same per-episode seeds and generators; for the expert, the same jitted
batch-size-1 greedy forward per step) with no logging. The ratio
generation_time / bare_time is the logging overhead of the random and expert
levels (target <= 1.5). The replay level also trains the DQN (one jitted SGD step
per environment step on catch), so its ratio is reported separately and is not a
logging-overhead figure. Other processes share this 2-core machine, so absolute
rates are noisy: each side is timed `--repeats` times interleaved and the best
time is kept; rely on the ratios.

  python benchmarks/generation.py [--steps 50000] [--replay-steps 20000] [--million]

--million also builds 1M bsuite catch replay transitions (noise0) and reports the
wall time.

--behaviour-runs [--run-steps 100000] (issue 8): for each domain, the registered
behaviour run of its first task (noise0 run 0: acting, learning and logging, the real
config) for its first `--run-steps` steps, beside the anchor of bare stepping of the
same environment with a uniform random policy for as many steps; reports steps/s per
domain and, from them, the time to build every noise0 run 0 of the registry here,
and every noise0 run (all of each task's `num_runs` seeds).

--numerics [--numerics-steps 4000] [--numerics-dataset rlu_mujoco/halfcheetah_noise0_run0]:
the cost of generation's canonical numerics (`rl_unplugged/generation/numerics.py`:
one XLA thread, no XLA CPU flags). Each side runs the dataset's first steps in a fresh
process: canonical with every usable core, canonical on one core, and the anchor, XLA's
default pool over every usable core (the process starts JAX before `generate`, so its
build is marked). Reports steps/s, the ratio to the anchor, and whether the data (shard
digests) of the canonical runs agree with each other and with the anchor's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from rl_unplugged import envs, paths, registry
from rl_unplugged.generation import (
    episode_rng,
    episode_seed,
    generate,
    greedy_policy,
    load_checkpoint,
)
from rl_unplugged.specs import DatasetSpec


def bare(spec, act) -> tuple[float, int]:
    """Steps the environment like `generate` does, logging nothing: (seconds, steps)."""
    env = envs.make(spec.task)
    steps = eid = 0
    start = time.perf_counter()
    while steps < spec.num_steps:
        obs = env.reset(episode_seed(spec.seed, eid))
        rng = episode_rng(spec.seed, eid)
        while True:
            ts = env.step(act(obs, rng))
            obs = ts.observation
            steps += 1
            if ts.terminated or ts.truncated:
                break
        eid += 1
    return time.perf_counter() - start, steps


def logged(spec, root) -> tuple[float, int]:
    start = time.perf_counter()
    log = generate(spec, root)
    return time.perf_counter() - start, log.num_transitions


def best_of(repeats: int, bare_fn, logged_fn) -> dict:
    bare_t, gen_t = [], []
    for i in range(repeats):
        t, n_bare = bare_fn()
        bare_t.append(t)
        t, n_gen = logged_fn(i)
        gen_t.append(t)
    b, g = min(bare_t), min(gen_t)
    return {"transitions": n_gen, "bare_steps_per_s": round(n_bare / b),
            "generation_steps_per_s": round(n_gen / g), "bare_s": round(b, 3),
            "generation_s": round(g, 3), "overhead_ratio": round((g / n_gen) / (b / n_bare), 3)}


def behaviour_runs(run_steps: int) -> dict:
    """Full-config behaviour runs per domain (a `run_steps` prefix) vs bare stepping."""
    root = tempfile.mkdtemp(prefix="rlu-bench-runs-")
    out = {"benchmark": "generation/behaviour_runs", "run_steps": run_steps,
           "machine": platform.processor() or platform.machine(),
           "note": "steps/s of the registered noise0 run-0 behaviour config (acting, SGD "
                   "updates, logging) over its first run_steps steps; anchor: bare "
                   "stepping with a uniform random policy, same run"}
    rates = {}
    built = [d for d in registry.domains() if registry.tasks(d)[0].builds_datasets]
    for domain in built:  # Atari's data come from RL Unplugged's files: nothing to log.
        task = registry.tasks(domain)[0]
        spec = registry.get_dataset(f"rlu_{domain}/{task.name}_noise0_run0")
        n = min(run_steps, spec.num_steps)
        short = spec.replace(task=dataclasses.replace(
            task, behaviour=dataclasses.replace(task.behaviour, num_steps=n)), num_steps=n)
        if task.is_discrete:
            act = lambda o, rng, k=task.num_actions: int(rng.integers(k))
        else:  # Uniform actions in the bounds (the anchor's policy).
            low = np.asarray(task.action.minimum, np.float32)
            high = np.asarray(task.action.maximum, np.float32)
            act = lambda o, rng, lo=low, hi=high: rng.uniform(lo, hi).astype(np.float32)
        bare_s, bare_n = bare(short, act)
        gen_s, gen_n = logged(short, f"{root}/{domain}")
        rates[domain] = gen_n / gen_s
        out[domain] = {"task": task.id, "transitions": gen_n,
                       "behaviour_steps_per_s": round(gen_n / gen_s),
                       "bare_steps_per_s": round(bare_n / bare_s),
                       "ratio_to_bare": round((gen_s / gen_n) / (bare_s / bare_n), 2)}
    timed = [t for t in registry.tasks() if t.domain in rates]
    total = sum(t.behaviour.num_steps / rates[t.domain] for t in timed)
    out["every_noise0_run0_estimated_s"] = round(total)
    out["every_noise0_run0_estimated_h"] = round(total / 3600, 2)
    # Every run (seed) of the noise0 level: the replay levels' other noise values log
    # the same learning run's cost again, so this is one level's bill, not the registry's.
    runs = sum(t.num_runs * t.behaviour.num_steps / rates[t.domain] for t in timed)
    out["every_noise0_run_estimated_s"] = round(runs)
    out["every_noise0_run_estimated_h"] = round(runs / 3600, 2)
    return out


_NUMERICS_CHILD = """
import dataclasses, hashlib, json, os, sys, time
mode, name, steps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "one_core":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
if mode == "xla_default":  # The backend starts now, with XLA's default pool.
    import jax
    jax.devices()
from rl_unplugged import registry
from rl_unplugged.generation import generate
spec = registry.get_dataset(name)
spec = spec.replace(task=dataclasses.replace(spec.task, behaviour=dataclasses.replace(
    spec.task.behaviour, num_steps=steps)), num_steps=steps)
start = time.perf_counter()
log = generate(spec, out)
seconds = time.perf_counter() - start
shards = [sorted(s["sha256"].items()) for s in log.manifest["shards"]]
print(json.dumps({"seconds": seconds, "transitions": log.num_transitions,
                  "data_sha256": hashlib.sha256(json.dumps(shards).encode()).hexdigest(),
                  "marked": "numerics" in log.manifest["generation"]}))
"""


def numerics_cost(name: str, steps: int) -> dict:
    """Canonical generation numerics against XLA's default pool, each in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    runs = {}
    with tempfile.TemporaryDirectory(prefix="rlu-bench-numerics-") as root:
        for mode in ("canonical", "one_core", "xla_default"):
            done = subprocess.run([sys.executable, "-c", _NUMERICS_CHILD, mode, name,
                                   str(steps), f"{root}/{mode}"], env=env,
                                  capture_output=True, text=True, check=True)
            runs[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    rate = {m: r["transitions"] / r["seconds"] for m, r in runs.items()}
    return {"benchmark": "generation/numerics", "dataset": name, "steps": steps,
            "machine": platform.processor() or platform.machine(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "anchor": "xla_default: XLA's default thread pool over every usable core",
            "steps_per_s": {m: round(r, 1) for m, r in rate.items()},
            "canonical_vs_anchor": round(rate["canonical"] / rate["xla_default"], 3),
            "canonical_same_data_on_one_core": runs["canonical"]["data_sha256"]
            == runs["one_core"]["data_sha256"],
            "anchor_same_data_as_canonical": runs["xla_default"]["data_sha256"]
            == runs["canonical"]["data_sha256"],
            "marked": {m: r["marked"] for m, r in runs.items()},
            "data_sha256": {m: r["data_sha256"][:16] for m, r in runs.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="bsuite/catch")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--replay-steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--behaviour-runs", action="store_true")
    parser.add_argument("--run-steps", type=int, default=100_000)
    parser.add_argument("--numerics", action="store_true")
    parser.add_argument("--numerics-steps", type=int, default=4_000)
    parser.add_argument("--numerics-dataset", default="rlu_mujoco/halfcheetah_noise0_run0")
    args = parser.parse_args()
    if args.numerics:
        print(json.dumps(numerics_cost(args.numerics_dataset, args.numerics_steps), indent=1))
        return
    if args.behaviour_runs:
        print(json.dumps(behaviour_runs(args.run_steps), indent=1))
        return

    base = registry.get_task(args.task)
    # The expert's source: a short replay run (its cost is not measured).
    task = dataclasses.replace(base, behaviour=dataclasses.replace(base.behaviour,
                                                                    num_steps=5_000))
    root = tempfile.mkdtemp(prefix="rlu-bench-gen-")
    spec = lambda level, n: DatasetSpec(task=task, level=level, noise=0.0, run=0,
                                                 num_steps=n)
    out = {"benchmark": "generation", "task": args.task, "machine": platform.processor() or
           platform.machine(), "note": "same-run ratios; machine shared with other jobs"}

    num_actions = task.num_actions
    random_spec = spec("random", args.steps)
    # Warm-up: first imports and environment construction are not what is measured.
    bare(spec("random", 500), lambda o, rng: int(rng.integers(num_actions)))
    logged(spec("random", 500), f"{root}/warmup")
    out["random"] = best_of(
        args.repeats, lambda: bare(random_spec, lambda o, rng: int(rng.integers(num_actions))),
        lambda i: logged(random_spec, f"{root}/random{i}"))

    generate(spec("replay", 5_000), root)  # The expert source, built before timing.
    expert_spec = spec("expert", args.steps)
    _, params, _ = load_checkpoint(
        paths.raw_dir(registry.expert_source(expert_spec), root))
    policy = greedy_policy(task, params, task.behaviour.hidden)
    policy(np.zeros((1, *task.observation.shape), task.observation.dtype))  # Compile.
    out["expert"] = best_of(
        args.repeats, lambda: bare(expert_spec, lambda o, rng: int(policy(o[None])[0])),
        lambda i: logged(expert_spec, root if i == 0 else f"{root}/expert{i}"))

    replay_spec = spec("replay", args.replay_steps).replace(noise=0.1)
    replay = best_of(1, lambda: bare(replay_spec, lambda o, rng: int(policy(o[None])[0])),
                     lambda i: logged(replay_spec, f"{root}/replay"))
    replay["note"] = ("replay level: also trains the DQN (one SGD step per env step after "
                      "min_replay_size); ratio vs bare stepping with the greedy forward is "
                      "NOT a logging overhead")
    replay["extrapolated_1M_s"] = round(1e6 / replay["generation_steps_per_s"])
    out["replay_training"] = replay
    out["random"]["extrapolated_1M_s"] = round(1e6 / out["random"]["generation_steps_per_s"])

    if args.million:
        full = registry.get_dataset("rlu_bsuite/catch_noise0_run0").replace(num_steps=1_000_000)
        t, n = logged(full, f"{root}/million")
        out["million_catch_replay"] = {"transitions": n, "wall_s": round(t, 1),
                                       "steps_per_s": round(n / t)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

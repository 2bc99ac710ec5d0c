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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="bsuite/catch")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--replay-steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--million", action="store_true")
    args = parser.parse_args()

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

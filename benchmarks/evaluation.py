"""Evaluator throughput versus bare vectorised stepping with the same batched policy.

Anchor (same run, same machine): a bare loop over the same `VectorEnv`, the same
episode seeds and the same batched policy, doing nothing but `policy(obs)`, `step`
and `reset`. The evaluator adds per-episode bookkeeping (returns, lengths, seed
queue, epsilon stream, action checks); the ratio evaluator/bare is what it costs.
Target: ratio >= 0.80. Two policies: a NumPy linear policy (cheapest, so overheads
show most) and the suite's flax Q-network, jitted (what learners' policies look like).

Other work shares this 2-core machine, so absolute steps/s are noisy: compare the
ratios, measured interleaved (bare, evaluator, bare, evaluator, ...), best of repeats.

    python benchmarks/evaluation.py [--episodes 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # This checkout's package.

from rl_unplugged import registry  # noqa: E402
from rl_unplugged.evaluation import evaluator, protocols  # noqa: E402
from rl_unplugged.evaluation.vector_env import VectorEnv  # noqa: E402


def bare(policy, task_id: str, seeds: list[int], num_envs: int) -> tuple[int, float]:
    """The anchor: same envs, seeds and batched policy; no bookkeeping."""
    venv = VectorEnv(task_id, num_envs)
    n = venv.num_envs
    start = time.perf_counter()
    for i in range(n):
        venv.reset(i, seeds[i])
    live = [True] * n
    nxt, active, steps = n, n, 0
    while active:
        actions = np.asarray(policy(venv.observations)).tolist()
        for i in range(n):
            if not live[i]:
                continue
            ts = venv.step(i, actions[i])
            steps += 1
            if ts.terminated or ts.truncated:
                if nxt < len(seeds):
                    venv.reset(i, seeds[nxt])
                    nxt += 1
                else:
                    live[i] = False
                    active -= 1
    return steps, time.perf_counter() - start


def linear_policy(task, rng):
    w = rng.normal(size=(task.observation.size, task.num_actions)).astype(np.float32)

    def policy(obs):
        return np.argmax(obs.reshape(len(obs), -1).astype(np.float32) @ w, axis=1)
    return policy


def flax_policy(task, num_envs):
    import jax

    from rl_unplugged.networks import make_network

    net = make_network(task, task.behaviour.hidden)
    params = net.init(jax.random.key(0), np.zeros((1, *task.observation.shape),
                                                  task.observation.dtype))
    greedy = jax.jit(lambda p, o: net.apply(p, o).values.argmax(axis=-1))
    greedy(params, np.zeros((num_envs, *task.observation.shape), task.observation.dtype))

    def policy(obs):
        return np.asarray(greedy(params, obs))
    return policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["classic/cartpole", "minatar/breakout", "bsuite/cartpole"])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for task_id in args.tasks:
        task = registry.get_task(task_id)
        seeds = protocols.episode_seeds(task_id, args.episodes)
        for name, policy in (("numpy-linear", linear_policy(task, np.random.default_rng(0))),
                             ("flax-qnetwork-jit", flax_policy(task, args.num_envs))):
            b_best, e_best = 0.0, 0.0
            for _ in range(args.repeats):
                steps_b, sec_b = bare(policy, task_id, seeds, args.num_envs)
                stats = evaluator.run_episodes(policy, task_id, seeds, num_envs=args.num_envs)
                if stats.steps != steps_b:
                    raise RuntimeError(f"{task_id}: evaluator ran {stats.steps} steps, "
                                       f"bare {steps_b}")
                b_best = max(b_best, steps_b / sec_b)
                e_best = max(e_best, stats.steps / stats.seconds)
            rows.append({"task": task_id, "policy": name, "steps": steps_b,
                         "bare_steps_per_s": round(b_best), "evaluator_steps_per_s": round(e_best),
                         "ratio": round(e_best / b_best, 3)})
    print(json.dumps({"benchmark": "evaluation", "anchor": "bare VectorEnv stepping, same "
                      "policy/seeds/run", "target_ratio": 0.8, "num_envs": args.num_envs,
                      "episodes": args.episodes, "repeats": args.repeats,
                      "machine": platform.processor() or platform.machine(),
                      "min_ratio": min(r["ratio"] for r in rows), "results": rows}, indent=1))


if __name__ == "__main__":
    main()

"""Where a behaviour run's time goes: cProfile of a replay-level generation.

Research for issue 8 (target: 1M MinAtar steps with learning in < 30 min on 2 cores).
Builds the `noise0` run-0 replay log of a task (registered behaviour config, fewer
steps) into a temporary directory under cProfile and prints the functions with the
most own time and the totals per stage (acting: the jitted greedy forward; learning:
the jitted update; environment stepping; replay buffer; logging).

Usage (nice it: the machine is shared):
  PYTHONPATH=. nice -n 10 python baselines/profile_generation.py minatar/breakout 20000
"""

from __future__ import annotations

import cProfile
import dataclasses
import io
import pstats
import sys
import tempfile
import time

import jax
import numpy as np

from rl_unplugged import envs, registry
from rl_unplugged.generation import dqn, generate
from rl_unplugged.generation.replay_buffer import ReplayBuffer
from rl_unplugged.specs import DatasetSpec


def _median_us(fn, n: int) -> float:
    fn()  # Compiled / warm.
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


def per_call_costs(task, n: int = 2_000) -> dict[str, float]:
    """Median microseconds of each per-step piece of the replay loop, synced like the loop
    (`int(g)` waits for the device), on the task's registered behaviour config."""
    cfg = task.behaviour
    agent = dqn.agent_for(task, cfg)
    state = agent.init(jax.random.PRNGKey(0))
    env = envs.make(task)
    obs = env.reset(0)
    buffer = ReplayBuffer(10_000, task.observation.shape, np.dtype(task.observation.dtype),
                          0, cfg.batch_size)
    for _ in range(cfg.batch_size * 4):
        buffer.add(obs, 0, 0.0, 1.0, obs)
    batch = dqn.Batch(*buffer.sample(0))
    rng = np.random.default_rng(0)

    def step_env():
        nonlocal obs
        ts = env.step(int(rng.integers(task.num_actions)))
        obs = env.reset(1) if ts.last else ts.observation

    def update_and_greedy():
        nonlocal state
        state, g = agent.update_and_greedy(state, batch, obs)
        int(g)

    return {"greedy forward (dispatch + sync)": _median_us(
                lambda: int(agent.greedy(state.params, obs)), n),
            "update_and_greedy (dispatch + sync)": _median_us(update_and_greedy, n // 4),
            "environment step": _median_us(step_env, n),
            "replay add": _median_us(lambda: buffer.add(obs, 0, 0.0, 1.0, obs), n),
            "replay sample": _median_us(lambda: buffer.sample(1), n),
            "jax no-op dispatch (anchor)": _median_us(
                lambda: int(_noop(jax.numpy.int32(1))), n)}


@jax.jit
def _noop(x):
    return x


def main(task_id: str, num_steps: int) -> int:
    task = registry.get_task(task_id)
    task = dataclasses.replace(task, behaviour=dataclasses.replace(task.behaviour,
                                                                   num_steps=num_steps))
    spec = DatasetSpec(task=task, level="replay", noise=0.0, run=0, num_steps=num_steps)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="rlu-profile-") as tmp:
        start = time.perf_counter()
        profiler.enable()
        log = generate(spec, tmp)
        profiler.disable()
        seconds = time.perf_counter() - start
        steps = log.num_transitions
    print(f"{task_id}: {steps:,} steps in {seconds:.1f} s under cProfile "
          f"({steps / seconds:,.0f} steps/s); behaviour {task.behaviour}")
    out = io.StringIO()
    # Where the loop's own pieces go (cumulative), by name.
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
        "backends.py|envs/base.py|breakout.py|replay_buffer.py|raw_log.py|_Rollout|_Log|"
        "array.py:.*__int__|checkpointing.py")
    print(out.getvalue())
    costs = per_call_costs(task)
    print("per-call medians (us), the registered config:")
    for name, us in costs.items():
        print(f"  {name:40s} {us:9.1f}")
    u = task.behaviour.update_period
    per_step = (costs["environment step"] + costs["replay add"]
                + (1 - 1 / u) * costs["greedy forward (dispatch + sync)"]
                + (costs["update_and_greedy (dispatch + sync)"] + costs["replay sample"]) / u)
    print(f"estimated per env step: {per_step:.0f} us -> 1M steps in "
          f"{per_step:.0f} s (= {per_step / 60:.1f} min), learning after warm-up, one core")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "minatar/breakout",
                  int(sys.argv[2]) if len(sys.argv) > 2 else 20_000))

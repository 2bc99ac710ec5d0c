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

from rl_unplugged import registry
from rl_unplugged.generation import generate
from rl_unplugged.specs import DatasetSpec


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
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "minatar/breakout",
                  int(sys.argv[2]) if len(sys.argv) > 2 else 20_000))

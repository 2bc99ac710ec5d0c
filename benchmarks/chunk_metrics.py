"""What the training loop's per-update metrics cost: the suite's chunk against itself without them.

One learner (the rows of `learners.py`: discrete CQL; continuous IQL and CQL(SAC)), its
setting (256x256, batch 256, synthetic data), one member, one jitted `lax.scan` of
`--fused` (sample, update) steps, in four forms, side by side:

  suite      the loop's chunk as it runs (`loop._scan_updates`): every update's metrics
             stacked (the anchor);
  summed     the same updates, metrics summed in the scan's carry (no per-step outputs);
  no_metrics the same updates with their metrics dropped, so XLA removes the work that
             only feeds them (losses' auxiliary statistics, the gradient norm);
  plain_jax  the independent hand-written update of `learners.py` (discrete:
             `plain_jax_side`; continuous: `plain_jax_continuous.py`).

`fusions` counts the fused kernels XLA compiled for each form (`as_text()`); rates are
updates/s over `--steps` after a compiling call; `vs_suite` is a rate over the anchor's.

  PYTHONPATH=. python benchmarks/chunk_metrics.py [--algos cql,iql,cql_sac] [--steps 20000]
      [--fused 1000] [--tiny]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import learners as bench  # noqa: E402  (the learners benchmark's data and setting)
import plain_jax_continuous  # noqa: E402

from rl_unplugged import registry, training  # noqa: E402
from rl_unplugged.training import ensemble, loop  # noqa: E402
from rl_unplugged.training.inputs import to_batch  # noqa: E402


def forms(learner, data, fused: int):
    """The three jitted chunk forms of `learner` (one member), each f(states, keys)."""
    def step(update):  # The loop's own per-member step, with `update` in it.
        return ensemble.map_members(
            loop.member_step(dataclasses.replace(learner, update=update), data), True)

    def suite(states, keys):
        return loop._scan_updates(states, keys, data, learner=learner, length=fused,
                                  single=True)

    def summed(states, keys):
        one = step(learner.update)
        _, zeros = jax.eval_shape(one, states, keys)
        zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), zeros)

        def body(carry, _):
            states, total = carry
            states, metrics = one(states, keys)
            return (states, jax.tree.map(jnp.add, total, metrics)), None
        return jax.lax.scan(body, (states, zeros), None, length=fused)[0]

    def no_metrics(states, keys):
        one = step(lambda s, b: (learner.update(s, b)[0], {}))
        return jax.lax.scan(lambda c, _: (one(c, keys)[0], None), states, None,
                            length=fused)[0]

    return {"suite": suite, "summed": summed, "no_metrics": no_metrics}


def measure(fn, states, keys, calls: int) -> tuple[float, int]:
    compiled = jax.jit(fn).lower(states, keys).compile()
    fusions = compiled.as_text().count(" fusion(")
    jax.block_until_ready(compiled(states, keys))  # A first call, untimed.
    t0 = time.perf_counter()
    for _ in range(calls):
        out = compiled(states, keys)
    jax.block_until_ready(out)
    return time.perf_counter() - t0, fusions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", default="cql,iql,cql_sac")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--fused", type=int, default=1_000)
    parser.add_argument("--tiny", action="store_true",
                        help="32x32 networks, batch 8, 512 transitions: a quick check")
    args = parser.parse_args()
    try:
        rows = bench.select_rows(args.algos)
    except ValueError as error:
        parser.error(str(error))
    num = 512 if args.tiny else 100_000
    if args.tiny:
        bench.SETTING.update(bench.TINY)
    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "jax_version": jax.__version__, "fused": args.fused, "steps": args.steps,
              "anchor": "suite: the loop's chunk (loop._scan_updates), same run", "rows": {}}
    calls = max(1, args.steps // args.fused - 1)
    for kind, name in rows:
        continuous = kind == "continuous"
        arrays = (bench.synthetic_continuous(num=num) if continuous
                  else bench.synthetic(num=num))
        task = bench.continuous_task() if continuous else registry.get_task("classic/cartpole")
        data = bench._transitions(arrays)
        plan = training.Plan.make(name, task, steps=args.steps, config=bench._config(name),
                                  data=data)
        learner = plan.learner
        states = jax.jit(jax.vmap(learner.init))(ensemble.member_keys(plan.members, 0),
                                                 ensemble.stacked_hparams(plan.members))
        keys = ensemble.member_keys(plan.members, 1)
        row = {}
        for label, fn in forms(learner, to_batch(data, task), args.fused).items():
            seconds, fusions = measure(fn, states, keys, calls)
            row[label] = {"updates_per_s": calls * args.fused / seconds, "fusions": fusions}
        if continuous:
            plain = plain_jax_continuous.run(name, arrays, args.steps,
                                             hidden=bench.SETTING["hidden"],
                                             batch_size=bench.SETTING["batch_size"],
                                             chunk=args.fused)
        else:
            plain = bench.plain_jax_side(name, arrays, args.steps)
        row["plain_jax"] = {"updates_per_s": plain["updates_per_s"]}
        for r in row.values():
            r["vs_suite"] = r["updates_per_s"] / row["suite"]["updates_per_s"]
        report["rows"][name] = row
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

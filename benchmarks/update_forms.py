"""The suite's fused update in three forms, side by side: what made DQN as slow as CQL.

For each learner (the rows of `learners.py`: BC, DQN, CQL at its setting, 256x256,
batch 256, cartpole-shaped synthetic data), one jitted `lax.scan` of `--fused`
(sample, update) steps of the suite's own chunk (`loop._chunk_fn`), one member:

  anchor     the form before 2026-11-24 (the anchor): the online network run once over
             [s; s'] (`joint_forward=True`, which the behaviour agent keeps), the
             update vmapped over a member axis of size 1;
  split      Q(s') in its own forward pass under stop_gradient, still vmapped;
  suite      the suite's form now: split, and one member mapped unbatched
             (`ensemble.map_members(single=True)`).

BC has no Q(s'), so its `split` equals its anchor. Rates are the best of `--repeats`
timed calls after a compiling one; `vs_anchor` is a rate over the anchor's, same run.

  PYTHONPATH=. python benchmarks/update_forms.py [--fused 1000] [--repeats 3] [--tiny]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
import learners as bench  # noqa: E402  (the learners benchmark's data and setting)

from rl_unplugged import agents, registry  # noqa: E402
from rl_unplugged.agents import builder  # noqa: E402
from rl_unplugged.agents.cql import losses as cql_losses  # noqa: E402
from rl_unplugged.agents.dqn import learning as dqn_learning  # noqa: E402
from rl_unplugged.training import ensemble, loop  # noqa: E402
from rl_unplugged.training.inputs import to_batch  # noqa: E402


def _cql_joint(params, target_params, state, batch, key, *, network):
    """CQL's loss (`agents/cql/learning.py`) over the joint [s; s'] forward pass."""
    del key
    td, metrics, q = dqn_learning.td_terms(params, target_params, state, batch, network,
                                           joint_forward=True)
    penalty = cql_losses.cql_penalty(q, batch.action)
    return td + state.hparams["alpha"] * penalty, {**metrics, "cql_penalty": penalty}


def joint_learner(name: str, task, config):
    """`name`'s learner with the joint forward pass (the anchor's loss)."""
    if name == "bc":
        return agents.make_learner(name, task, config)
    loss = (functools.partial(dqn_learning.loss_fn, joint_forward=True) if name == "dqn"
            else _cql_joint)
    return builder.build(name, config, task, loss, lambda out: out.values)


def rate(learner, data, fused: int, repeats: int, single: bool) -> float:
    """Best updates/s of `repeats` calls of the fused chunk (one member)."""
    members = ensemble.make_members(learner.config, [0], {})
    states = jax.jit(jax.vmap(learner.init))(ensemble.member_keys(members, 0),
                                             ensemble.stacked_hparams(members))
    keys = ensemble.member_keys(members, 1)
    chunk = jax.jit(functools.partial(loop._scan_updates, learner=learner, length=fused,
                                      single=single))
    jax.block_until_ready(chunk(states, keys, data))  # Compiles.
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(chunk(states, keys, data))
        best = max(best, fused / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fused", type=int, default=1000, help="updates per timed call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per form")
    parser.add_argument("--algos", default="bc,dqn,cql")
    parser.add_argument("--tiny", action="store_true", help="32x32 networks, batch 8")
    args = parser.parse_args()
    if args.tiny:
        bench.SETTING.update(bench.TINY)
    task = registry.get_task("classic/cartpole")
    transitions = bench._transitions(bench.synthetic(num=10_000 if args.tiny else 100_000))
    data = to_batch(transitions, task)
    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "jax": jax.__version__, "setting": {k: list(v) if isinstance(v, tuple) else v
                                                  for k, v in bench.SETTING.items()},
              "anchor": "joint [s; s'] forward pass, vmapped over one member (the form "
                        "before 2026-11-24), same run",
              "fused": args.fused, "rows": {}}
    for name in args.algos.split(","):
        config = bench._config(name)
        suite = agents.make_learner(name, task, config)
        # Interleaved, so the forms see the same load on shared cores.
        rates = {"anchor": rate(joint_learner(name, task, config), data, args.fused,
                                args.repeats, single=False),
                 "split": rate(suite, data, args.fused, args.repeats, single=False),
                 "suite": rate(suite, data, args.fused, args.repeats, single=True)}
        report["rows"][name] = {
            **{f"{form}_updates_per_s": r for form, r in rates.items()},
            **{f"{form}_vs_anchor": r / rates["anchor"] for form, r in rates.items()
               if form != "anchor"}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

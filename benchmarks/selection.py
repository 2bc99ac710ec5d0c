"""Scoring a candidate pool with TD error, SBV and FQE: vmapped over the pool versus a
per-candidate Python loop over the same functions, in the same run.

The pool: M MLP Q-networks (64x64, random inits of one architecture, stacked
parameters) on N synthetic transitions (episodes of `--episode-length` steps, 20% held
out). Both sides compute the same quantities with the same library functions:

- Q-values: `jax.vmap(apply)` over stacked parameters vs one jitted apply per member;
- TD error: `bellman.td_error` vmapped vs called per member;
- SBV: `sbv.sbv_from_targets` on all M target columns at once (multi-output ridge,
  vmapped Bellman networks) vs called with one column per member;
- FQE: `linear.batched_fitted_iteration` vs `linear.fitted_iteration` per member.

Prints one JSON object: seconds per candidate for each side and criterion, and the
speed-up. Compile time is excluded on both sides (one warm-up call each).

    python benchmarks/selection.py [--candidates 64] [--transitions 100000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # This checkout's package.

from rl_unplugged.data.transitions import Transitions  # noqa: E402
from rl_unplugged.selection import bellman, bellman_network, linear, sbv  # noqa: E402
from rl_unplugged.selection.split import split_by_episode  # noqa: E402


class MLP(nn.Module):
    actions: int

    @nn.compact
    def __call__(self, x):
        for w in (64, 64):
            x = nn.relu(nn.Dense(w)(x))
        return nn.Dense(self.actions)(x)


def synthetic(n: int, dim: int, actions: int, length: int, rng: np.random.Generator):
    obs = rng.normal(size=(n, dim)).astype(np.float32)
    nxt = np.roll(obs, -1, axis=0)
    step = np.arange(n) % length
    return Transitions(observation=obs, action=rng.integers(0, actions, n).astype(np.int32),
                       reward=rng.normal(size=n).astype(np.float32),
                       discount=(step != length - 1).astype(np.float32),
                       next_observation=nxt, episode_id=(np.arange(n) // length).astype(np.int64),
                       step=step.astype(np.int32))


def timed(fn):
    fn()  # Warm-up: compilation is not what we measure.
    start = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--actions", type=int, default=4)
    parser.add_argument("--episode-length", type=int, default=100)
    parser.add_argument("--net-steps", type=int, default=500)
    parser.add_argument("--fqe-iterations", type=int, default=30)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    data = synthetic(args.transitions, args.dim, args.actions, args.episode_length, rng)
    split = split_by_episode(data, gamma=0.99, num_actions=args.actions, rng=rng)
    net = MLP(args.actions)
    keys = jax.random.split(jax.random.PRNGKey(0), args.candidates)
    params = jax.vmap(lambda k: net.init(k, data.observation[:1]))(keys)
    member = [jax.tree.map(lambda x, i=i: x[i], params) for i in range(args.candidates)]
    apply_one = jax.jit(net.apply)
    apply_all = jax.jit(jax.vmap(net.apply, in_axes=(0, None)))
    tr, va, gamma = split.train, split.valid, split.gamma
    td_all = jax.jit(jax.vmap(bellman.td_error, in_axes=(0, 0, None, None, None, None)))
    td_one = jax.jit(bellman.td_error)
    sbv_cfg = sbv.SBVConfig(degrees=(1, 2), alphas=(1.0,),
                            network=bellman_network.BellmanNetworkConfig(steps=args.net_steps))
    feats = linear.PolyFeatures.fit(tr.observation, 2)
    phi, phi_next = jnp.asarray(feats(tr.observation)), jnp.asarray(feats(tr.next_observation))
    fqe_kw = dict(gamma=gamma, lam=1.0, iterations=args.fqe_iterations)
    arrays = [jnp.asarray(x) for x in (tr.action, tr.reward, tr.discount)]
    out = {"benchmark": "selection", "candidates": args.candidates,
           "transitions": args.transitions, "dim": args.dim, "actions": args.actions,
           "device": jax.devices()[0].device_kind, "platform": platform.platform(),
           "seconds_per_candidate": {"vmapped": {}, "loop": {}}}

    def vm_td():
        q, qn = apply_all(params, va.observation), apply_all(params, va.next_observation)
        return td_all(q, qn, va.action, va.reward, va.discount, gamma)

    def loop_td():
        return [td_one(apply_one(p, va.observation), apply_one(p, va.next_observation),
                       va.action, va.reward, va.discount, gamma) for p in member]

    def targets(q_next, part):
        return part.reward[None] + gamma * part.discount[None] * np.asarray(q_next).max(-1)

    def vm_sbv():
        y_tr = targets(apply_all(params, tr.next_observation), tr).T
        y_va = targets(apply_all(params, va.next_observation), va).T
        q = np.asarray(apply_all(params, va.observation))
        q_sa = np.take_along_axis(q, va.action[None, :, None], -1)[..., 0].T
        return np.array([r.score for r in sbv.sbv_from_targets(split, y_tr, y_va, q_sa,
                                                               sbv_cfg)])

    def loop_sbv():
        scores = []
        for p in member:
            y_tr = targets(apply_one(p, tr.next_observation)[None], tr).T
            y_va = targets(apply_one(p, va.next_observation)[None], va).T
            q = np.asarray(apply_one(p, va.observation))
            q_sa = np.take_along_axis(q, va.action[:, None], -1)
            scores.append(sbv.sbv_from_targets(split, y_tr, y_va, q_sa, sbv_cfg)[0].score)
        return np.array(scores)

    def vm_fqe():
        greedy = apply_all(params, tr.next_observation).argmax(-1)
        probs = jax.nn.one_hot(greedy, args.actions)
        return linear.batched_fitted_iteration(phi, *arrays, phi_next, probs, **fqe_kw)

    def loop_fqe():
        return [linear.fitted_iteration(
            phi, *arrays, phi_next,
            jax.nn.one_hot(apply_one(p, tr.next_observation).argmax(-1), args.actions),
            **fqe_kw) for p in member]

    for name, vm, lp in (("td", vm_td, loop_td), ("sbv", vm_sbv, loop_sbv),
                         ("fqe", vm_fqe, loop_fqe)):
        t_vm, r_vm = timed(vm)
        t_lp, r_lp = timed(lp)
        # Same functions, same answers (SBV's networks share batches: small differences).
        np.testing.assert_allclose(np.asarray(r_vm), np.asarray(r_lp), rtol=0.05, atol=1e-3)
        out["seconds_per_candidate"]["vmapped"][name] = t_vm / args.candidates
        out["seconds_per_candidate"]["loop"][name] = t_lp / args.candidates
    out["speedup"] = {k: out["seconds_per_candidate"]["loop"][k]
                      / out["seconds_per_candidate"]["vmapped"][k] for k in ("td", "sbv", "fqe")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""MinAtar CNN ensembles: `PatchConv` (the learners' convolution) against `nn.Conv` (anchor).

Vmapped Adam updates of a double-DQN-style loss on the MinAtar value network (conv
16x3x3 then dense 128; batch 256 of breakout-shaped 10x10x4 observations), fused
`--fused` at a time in one jitted `lax.scan` as the training loop fuses them, for
ensembles of 1 and 10 members, with each of `MinAtarTorso`'s two convolutions. The
anchor is `conv="xla"` (flax `nn.Conv`; XLA:CPU runs it slowly inside a scan, and as a
grouped convolution once vmapped); `speedup` is its time per update over
`conv="patches"`'s, same run. `--fused 1` times single jitted updates instead.

  PYTHONPATH=. python benchmarks/minatar_conv.py [--members 1,10] [--repeats 5] [--fused 10]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rl_unplugged import networks, registry


def update_time(conv: str, members: int, repeats: int, fused: int, batch: int = 256) -> float:
    """Seconds per vmapped (members) Adam update of a TD loss, after compiling."""
    task = registry.get_task("minatar/breakout")
    net = networks.make_network(task, (128,), conv=conv)
    rng = np.random.default_rng(0)
    obs = jnp.asarray(rng.random((members, batch, *task.observation.shape)) < 0.1, jnp.uint8)
    action = jnp.asarray(rng.integers(task.num_actions, size=(members, batch)))
    reward = jnp.asarray(rng.normal(size=(members, batch)), jnp.float32)
    opt = optax.adam(3e-4)
    keys = jax.random.split(jax.random.PRNGKey(0), members)
    params = jax.vmap(lambda k: net.init(k, obs[0, :1]))(keys)
    state = (params, params, jax.vmap(opt.init)(params))

    def loss(p, target, o, a, r):
        q = jnp.take_along_axis(net.apply(p, o).values, a[:, None], axis=1)[:, 0]
        next_q = net.apply(target, o).values.max(axis=1)
        return jnp.mean(optax.huber_loss(q, jax.lax.stop_gradient(r + 0.99 * next_q)))

    def one(s, o, a, r):
        p, target, opt_state = s
        grads = jax.grad(loss)(p, target, o, a, r)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(p, updates), target, opt_state

    def chunk(s, o, a, r):
        return jax.lax.scan(lambda c, _: (jax.vmap(one)(c, o, a, r), None), s, None,
                            length=fused)[0]

    step = jax.jit(chunk)
    jax.block_until_ready(step(state, obs, action, reward))
    start = time.perf_counter()
    for _ in range(repeats):
        state = step(state, obs, action, reward)
    jax.block_until_ready(state)
    return (time.perf_counter() - start) / (repeats * fused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", default="1,10")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls")
    parser.add_argument("--fused", type=int, default=10, help="updates per call (lax.scan)")
    args = parser.parse_args()
    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "anchor": "conv='xla' (flax nn.Conv), same run", "fused": args.fused, "rows": {}}
    for members in (int(m) for m in args.members.split(",")):
        xla = update_time("xla", members, args.repeats, args.fused)
        patches = update_time("patches", members, args.repeats, args.fused)
        report["rows"][str(members)] = {
            "xla_updates_per_s": 1 / xla, "patches_updates_per_s": 1 / patches,
            "speedup": xla / patches}
    print(json.dumps(report))


if __name__ == "__main__":
    main()

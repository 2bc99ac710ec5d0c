"""Learner throughput: this suite's learners against d3rlpy 2.8.1, same data, same run.

Discrete rows (bc / dqn / cql, against d3rlpy's DiscreteBC / DoubleDQN / DiscreteCQL):
synthetic transitions (100k by default), obs dim 4, 2 actions, episodes of 100 steps.
Continuous rows (bc_gaussian / td3_bc / cql_sac / iql, against d3rlpy's BC (stochastic
policy) / TD3PlusBC / CQL / IQL): as many synthetic transitions, obs dim 17, 6 actions
in [-1, 1] (HalfCheetah's sizes), episodes of 1000 steps, on an unregistered continuous
task. Each kind is its own .npz for the d3rlpy side. MLP 256x256, batch 256.
The JAX side runs `rl_unplugged.training.train` with the suite's
features on (metrics every 1000 updates, probes every 2000 on 2048 states,
checkpoints every 2000, JSONL logs); its rate is the steady state after the
compiling call. The d3rlpy side (`fit`, NoopAdapter, no evaluators) runs in its own
venv as a subprocess on the same .npz. The machine's float32 matmul peak is measured
in the same run, and each learner's achieved FLOP/s (XLA's cost analysis of one
update) is reported as a fraction of it (and of `--peak-flops`, a device's nominal
peak, when given).

Second anchors, measured in the same run (the report's `"anchors"` says which is which):
- every row, `"plain_jax"`: an independent hand-written implementation of the same
  update (same network, Adam, loss, batch) in the JAX-CORL/Unifloral style, one jitted
  `lax.scan` of (sample, update), no logging, probes or checkpoints (discrete:
  `plain_jax_side` here; continuous: `plain_jax_continuous.py`); `vs_plain_jax` is the
  suite's rate over it.
- continuous rows, also `"update_scan"`: not an independent implementation but the suite's
  own pure `learner.update` of one member in a hand-written jitted `lax.scan` (minibatches
  sampled inside jit): the same update without the loop's features (no vmap, metric
  checks, logs, probes or checkpoints); `vs_update_scan` is the suite's rate over it,
  i.e. what those features cost.

Feature costs, `"feature_costs"` (`--feature-costs cql`): one learner's `training.train`
with all features, without probes, without intermediate checkpoints, and with none of
them and no output files (the anchor, `"none"`); `vs_none` per row.

Ensemble rows, `"ensemble"`: `--ensemble N` members (64 by default) of each learner in
`--ensemble-algos` (discrete CQL by default; continuous ones too, e.g. `cql,td3_bc,cql_sac`)
as one vmapped ensemble with the same features; aggregate updates/s (members x
updates/s) and FLOP/s from XLA's cost analysis of the vmapped update. `--ensemble 0`
skips them.

  python benchmarks/learners.py [--device cpu|gpu] [--steps 6000] [--d3rlpy-steps 1000]
      [--d3rlpy-python .venv-d3rlpy/bin/python] [--no-d3rlpy]
      [--algos bc,dqn,cql,bc_gaussian,td3_bc,cql_sac,iql] [--only discrete|continuous]
      [--ensemble 64] [--ensemble-algos cql] [--num 100000] [--peak-flops F]
      [--matmul-precision P]

The JAX side never imports TensorFlow (checked; the GPU image has none): with
`--device gpu` the run fails if anything imported it. Tiny CPU check of the GPU
command: `python benchmarks/learners.py --device cpu --no-d3rlpy --steps 4 --num 512
--ensemble 2 --tiny` (`--tiny`: 32x32 networks, batch 8, metrics every 2 updates).

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


# The setting of every JAX row; `--tiny` shrinks it to check the command quickly.
SETTING = {"hidden": (256, 256), "batch_size": 256, "log_every": 1000, "every": 2000}
TINY = {"hidden": (32, 32), "batch_size": 8, "log_every": 2, "every": 4}


def _transitions(arrays: dict):
    from rl_unplugged.data.transitions import Transitions

    # Episodes end at the terminal flags (every 100 steps discrete, 1000 continuous).
    n = len(arrays["reward"])
    episode = np.concatenate([[0], np.cumsum(arrays["terminal"][:-1] > 0)])
    start = np.flatnonzero(np.diff(episode, prepend=-1))
    step = np.arange(n) - start[episode]
    return Transitions(arrays["observation"], arrays["action"], arrays["reward"],
                       1.0 - arrays["terminal"], arrays["next_observation"],
                       episode, step.astype(np.int32))


def _config(name: str):
    from rl_unplugged import agents

    return agents.make_config(
        name, hidden=SETTING["hidden"], batch_size=SETTING["batch_size"],
        **({"target_update_period": 2000} if name in ("dqn", "cql") else {}))


def _flops(fn, *args) -> float:
    import jax

    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float((cost or {}).get("flops", float("nan")))


def jax_side(name: str, arrays: dict, steps: int, out: Path, members: int = 1) -> dict:
    """The suite's `training.train` with its features on: one learner, or `members`.

    Continuous rows (one learner) also carry the `update_scan` anchor of `plain_jax`.
    """
    import jax

    from rl_unplugged import registry, training
    from rl_unplugged.agents import Batch

    continuous = name in CONTINUOUS_ALGOS
    # obs dim 4, 2 actions (discrete); obs dim 17, 6 actions in [-1, 1] (continuous).
    task = continuous_task() if continuous else registry.get_task("classic/cartpole")
    data = _transitions(arrays)
    config = _config(name)
    every = SETTING["every"]
    run = training.train(name, data, task, config=config, steps=steps, seeds=range(members),
                         log_every=SETTING["log_every"], probe_every=every,
                         checkpoint_every=every, out_dir=out / f"{name}x{members}",
                         make_plots=False)
    # Through the plan, as `train` builds it (TD3+BC's observation statistics).
    learner = training.Plan.make(name, task, steps=steps, config=config, data=data).learner
    b = config.batch_size
    batch = Batch(*(jax.numpy.asarray(x[:b]) for x in (
        data.observation, data.action, data.reward, data.discount, data.next_observation)))
    if members == 1:
        state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
        row = {"updates_per_s": run.updates_per_s,
               "flops_per_update": _flops(learner.update, state, batch)}
        if continuous:
            row["update_scan_updates_per_s"] = plain_jax(learner, data, steps,
                                                         chunk=SETTING["log_every"])
        return row
    keys = jax.random.split(jax.random.PRNGKey(0), members)
    hparams = {k: jax.numpy.full((members,), v, jax.numpy.float32)
               for k, v in learner.config.traced().items()}
    states = jax.vmap(learner.init)(keys, hparams)
    batches = jax.tree.map(lambda x: jax.numpy.stack([x] * members), batch)
    rate = run.updates_per_s
    return {"members": members, "updates_per_s_per_member": rate,
            "aggregate_updates_per_s": None if rate is None else rate * members,
            "flops_per_update": _flops(jax.vmap(learner.update), states, batches) / members}


def feature_costs(name: str, arrays: dict, steps: int, out: Path) -> dict:
    """Updates/s of `training.train` for one learner with each of the loop's features off.

    Anchor: `"none"`, the same call with probes off, checkpoints only at the end and no
    JSONL/plot output (`out_dir=None`); every other row's `vs_none` is its rate over it, so
    `1 - vs_none` is what that feature set costs. Run back to back in one process.
    """
    from rl_unplugged import registry, training

    continuous = name in CONTINUOUS_ALGOS
    task = continuous_task() if continuous else registry.get_task("classic/cartpole")
    data, config, every = _transitions(arrays), _config(name), SETTING["every"]
    settings = {"all": {"probe_every": every, "checkpoint_every": every, "out": True},
                "no_probes": {"probe_every": None, "checkpoint_every": every, "out": True},
                "no_checkpoints": {"probe_every": every, "checkpoint_every": None, "out": True},
                "none": {"probe_every": None, "checkpoint_every": None, "out": False}}
    rates = {}
    for label, s in settings.items():
        run = training.train(name, data, task, config=config, steps=steps, seeds=[0],
                             log_every=SETTING["log_every"], probe_every=s["probe_every"],
                             checkpoint_every=s["checkpoint_every"], make_plots=False,
                             out_dir=out / f"features_{name}_{label}" if s["out"] else None)
        rates[label] = {"updates_per_s": run.updates_per_s}
    for r in rates.values():
        if r["updates_per_s"] and rates["none"]["updates_per_s"]:
            r["vs_none"] = r["updates_per_s"] / rates["none"]["updates_per_s"]
    return rates


def plain_jax(learner, data, steps: int, chunk: int = 1000) -> float:
    """Updates/s of `learner.update` alone in a hand-written jitted scan (one member).

    The continuous rows' anchor (`update_scan`): the suite's own update, without the
    loop's features (vmap, metric checks, logs, probes, checkpoints); not an
    independent implementation like `plain_jax_side`.
    """
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


def plain_jax_side(name: str, arrays: dict, steps: int) -> dict:
    """The discrete rows' anchor: the same update hand-written, one `lax.scan` of (sample, update).

    JAX-CORL/Unifloral style: an MLP (ReLU torso of SETTING's widths, linear head, the
    suite's default initialisers), Adam, and the loss of `name` (BC: cross-entropy;
    DQN: double-DQN Huber TD loss, online net on s and (no gradient) s', target net
    on s', hard target copy every 2000; CQL: DQN + logsumexp penalty, alpha 1). No logging,
    probes or checkpoints; the rate is that of the timed calls after a compiling one.
    """
    import jax
    import jax.numpy as jnp
    import optax

    hidden, batch_size = SETTING["hidden"], SETTING["batch_size"]
    obs = jnp.asarray(arrays["observation"])
    next_obs = jnp.asarray(arrays["next_observation"])
    action = jnp.asarray(arrays["action"])
    reward = jnp.asarray(arrays["reward"])
    discount = jnp.asarray(1.0 - arrays["terminal"])
    size, num_actions = reward.shape[0], int(arrays["num_actions"])
    gamma, period = 0.99, 2000

    def init(key):
        sizes = [obs.shape[1], *hidden, num_actions]
        params = []
        layers = zip(sizes[:-1], sizes[1:], strict=True)
        for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), layers, strict=True):
            params.append((jax.nn.initializers.lecun_normal()(k, (a, b)), jnp.zeros(b)))
        return params

    def apply(params, x):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss(params, target, idx):
        s, a = obs[idx], action[idx]
        if name == "bc":
            return optax.softmax_cross_entropy_with_integer_labels(apply(params, s), a).mean()
        q, next_q = apply(params, s), jax.lax.stop_gradient(apply(params, next_obs[idx]))
        best = jnp.argmax(next_q, -1)
        next_v = jnp.take_along_axis(apply(target, next_obs[idx]), best[:, None], -1)[:, 0]
        y = jax.lax.stop_gradient(reward[idx] + gamma * discount[idx] * next_v)
        q_a = jnp.take_along_axis(q, a[:, None], -1)[:, 0]
        td = optax.huber_loss(q_a, y, delta=1.0).mean()
        if name == "cql":
            td += (jax.nn.logsumexp(q, -1) - q_a).mean()
        return td

    optimizer = optax.adam(3e-4)

    def step(carry, _):
        params, target, opt_state, key, t = carry
        key, sub = jax.random.split(key)
        idx = jax.random.randint(sub, (batch_size,), 0, size)
        grads = jax.grad(loss)(params, target, idx)
        updates, opt_state = optimizer.update(grads, opt_state)
        params = optax.apply_updates(params, updates)
        t = t + 1
        target = optax.periodic_update(params, target, t, period)
        return (params, target, opt_state, key, t), None

    length = min(SETTING["log_every"], steps)
    run = jax.jit(lambda carry: jax.lax.scan(step, carry, None, length=length)[0])
    params = init(jax.random.PRNGKey(0))
    carry = (params, params, optimizer.init(params), jax.random.PRNGKey(1), jnp.int32(0))
    carry = jax.block_until_ready(run(carry))  # Compiles.
    calls = max(1, steps // length - 1)
    t0 = time.perf_counter()
    for _ in range(calls):
        carry = run(carry)
    jax.block_until_ready(carry)
    return {"updates_per_s": calls * length / (time.perf_counter() - t0)}


def d3rlpy_side(python: str, name: str, data: Path, steps: int, device: str) -> float:
    proc = subprocess.run(
        [python, str(Path(__file__).with_name("_d3rlpy_side.py")), str(data), str(steps),
         device, name], capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("D3RLPY_JSON ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"d3rlpy side failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1].split(" ", 1)[1])


def select_rows(algos: str, only: str | None = None, flag: str = "--algos"
                ) -> list[tuple[str, str]]:
    """The (kind, name) rows of `algos` (comma-separated), of kind `only` if given.

    Raises:
      ValueError: a name that is no row (one line naming `flag`, listing the known ones).
    """
    kinds = {**dict.fromkeys(ALGOS, "discrete"), **dict.fromkeys(CONTINUOUS_ALGOS, "continuous")}
    names = algos.split(",")
    unknown = [n for n in names if n not in kinds]
    if unknown:
        raise ValueError(f"{flag}: unknown {', '.join(unknown)}; known: {', '.join(kinds)}")
    return [(kinds[n], n) for n in names if only in (None, kinds[n])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--steps", type=int, default=6000, help="JAX updates per algorithm")
    parser.add_argument("--d3rlpy-steps", type=int, default=1000)
    parser.add_argument("--d3rlpy-python", default=str(REPO / ".venv-d3rlpy/bin/python"))
    parser.add_argument("--no-d3rlpy", action="store_true")
    parser.add_argument("--algos", default=",".join(ALGOS + CONTINUOUS_ALGOS),
                        help="comma-separated rows, discrete and continuous")
    parser.add_argument("--only", choices=("discrete", "continuous"), default=None,
                        help="of --algos, run only the rows of this kind")
    parser.add_argument("--ensemble", type=int, default=64,
                        help="members of each ensemble row (0: skip them)")
    parser.add_argument("--ensemble-algos", default="cql",
                        help="comma-separated learners of the ensemble rows (either kind)")
    parser.add_argument("--num", type=int, default=100_000, help="synthetic transitions")
    parser.add_argument("--peak-flops", type=float, default=None,
                        help="the device's nominal peak FLOP/s (e.g. from its data sheet)")
    parser.add_argument("--matmul-precision", default=None,
                        choices=("default", "tensorfloat32", "bfloat16", "float32", "highest"),
                        help="jax_default_matmul_precision for every JAX row")
    parser.add_argument("--feature-costs", default="",
                        help="comma-separated learners whose loop features (probes, "
                             "checkpoints, logs) are timed on and off (`feature_costs`)")
    parser.add_argument("--tiny", action="store_true",
                        help="32x32 networks, batch 8, chunks of 2: a quick check of the command")
    args = parser.parse_args()
    try:
        rows = select_rows(args.algos, args.only)
        ensemble_rows = (select_rows(args.ensemble_algos, flag="--ensemble-algos")
                         if args.ensemble else [])
        feature_rows = (select_rows(args.feature_costs, flag="--feature-costs")
                        if args.feature_costs else [])
    except ValueError as error:
        parser.error(str(error))
    os.environ.setdefault("JAX_PLATFORMS", "cuda" if args.device == "gpu" else "cpu")
    sys.path.insert(0, str(REPO))
    if args.tiny:
        SETTING.update(TINY)
    import jax
    import plain_jax_continuous  # Beside this script (benchmarks/).

    if args.matmul_precision:
        jax.config.update("jax_default_matmul_precision", args.matmul_precision)

    report = {"device": str(jax.devices()[0]), "platform": platform.platform(),
              "cpu_count": os.cpu_count(), "jax_version": jax.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sets = {"discrete": synthetic(num=args.num),
                "continuous": synthetic_continuous(num=args.num)}
        for kind in {kind for kind, _ in rows}:
            np.savez(tmp / f"{kind}.npz", **sets[kind])
        report["matmul_peak_flops"] = matmul_peak()
        report["setting"] = {k: list(v) if isinstance(v, tuple) else v
                             for k, v in SETTING.items()}
        report["anchors"] = {
            "plain_jax": "an independent hand-written implementation of the same update in "
                         "one lax.scan (discrete: plain_jax_side; continuous: "
                         "plain_jax_continuous.py)",
            "update_scan": "continuous rows: the same update (the suite's learner.update) "
                           "in a hand-written lax.scan, without the loop's features"}
        report["jax"], report["d3rlpy"] = {}, {}
        report["plain_jax"], report["update_scan"] = {}, {}
        # Interleaved per algorithm, so all sides see similar load on shared cores.
        for kind, name in rows:
            row = jax_side(name, sets[kind], args.steps, tmp / "runs")
            if kind == "discrete":
                report["plain_jax"][name] = plain_jax_side(name, sets[kind], args.steps)
            else:
                report["update_scan"][name] = {
                    "updates_per_s": row.pop("update_scan_updates_per_s")}
                report["plain_jax"][name] = plain_jax_continuous.run(
                    name, sets[kind], args.steps, hidden=SETTING["hidden"],
                    batch_size=SETTING["batch_size"], chunk=SETTING["log_every"])
            report["jax"][name] = row
            if not args.no_d3rlpy:
                torch_device = "cuda:0" if args.device == "gpu" else "cpu:0"
                side = d3rlpy_side(args.d3rlpy_python, name, tmp / f"{kind}.npz",
                                   args.d3rlpy_steps, torch_device)
                report["d3rlpy"][name] = side.pop(name)
                report["d3rlpy"][f"{name}_whole_fit"] = side.pop(f"{name}_whole_fit")
                report["d3rlpy_versions"] = side
        if ensemble_rows:
            report["ensemble"] = {name: jax_side(name, sets[kind], args.steps, tmp / "runs",
                                                 members=args.ensemble)
                                  for kind, name in ensemble_rows}
        if feature_rows:
            report["feature_costs"] = {
                name: feature_costs(name, sets[kind], args.steps, tmp / "runs")
                for kind, name in feature_rows}
        # A second matmul measurement after the learners, to show drift from shared cores.
        report["matmul_peak_flops_after"] = matmul_peak()
    peak = max(report["matmul_peak_flops"], report["matmul_peak_flops_after"])
    report["peak_flops"] = args.peak_flops
    for name, r in report["jax"].items():
        if r["updates_per_s"] is None:
            continue  # Fewer than two chunks: no steady-state rate.
        flops = r["updates_per_s"] * r["flops_per_update"]
        r["fraction_of_matmul_peak"] = flops / peak
        if args.peak_flops:
            r["fraction_of_peak"] = flops / args.peak_flops
        if name in report["d3rlpy"]:
            r["speedup_vs_d3rlpy"] = r["updates_per_s"] / report["d3rlpy"][name]
        if name in report["plain_jax"]:
            r["vs_plain_jax"] = r["updates_per_s"] / report["plain_jax"][name]["updates_per_s"]
        if name in report["update_scan"]:
            r["vs_update_scan"] = (r["updates_per_s"]
                                   / report["update_scan"][name]["updates_per_s"])
    for name, r in report.get("ensemble", {}).items():
        if r["aggregate_updates_per_s"] is None:
            continue
        flops = r["aggregate_updates_per_s"] * r["flops_per_update"]
        r["fraction_of_matmul_peak"] = flops / peak
        if args.peak_flops:
            r["fraction_of_peak"] = flops / args.peak_flops
        if name in report["d3rlpy"]:
            r["aggregate_speedup_vs_d3rlpy"] = (r["aggregate_updates_per_s"]
                                                / report["d3rlpy"][name])
    # The accelerator image has no TensorFlow: the training path must not need it.
    report["tensorflow_imported"] = "tensorflow" in sys.modules
    print(json.dumps(report, indent=2))
    if args.device == "gpu" and report["tensorflow_imported"]:
        raise SystemExit("the JAX side imported TensorFlow")


if __name__ == "__main__":
    main()

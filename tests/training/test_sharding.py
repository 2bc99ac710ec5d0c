"""Sharded ensembles: members split over 2 (forced host) devices give the unsharded numbers.

`--xla_force_host_platform_device_count` must be set before JAX initialises, and the
rest of the suite runs on one device, so the two-device half runs in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax

from rl_unplugged.training import sharding

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from rl_unplugged import registry, training
    from rl_unplugged.training import sharding
    from tests.training.helpers import random_transitions

    assert len(jax.devices()) == 2, jax.devices()
    task = registry.get_task("classic/cartpole")
    data = random_transitions(task)
    kw = dict(config={"hidden": (16, 16), "batch_size": 8, "target_update_period": 3},
              steps=6, log_every=2, probe_every=2, probe_size=32, make_plots=False)
    out = {}
    for name, seeds, grid in (("cql", (0, 1), {"alpha": [0.5, 2.0]}), ("dqn", (0, 1, 2), {})):
        sharded = training.train(name, data, task, seeds=seeds, grid=grid,
                                 out_dir=sys.argv[1] + "/" + name, **kw)
        plain = training.train(name, data, task, seeds=seeds, grid=grid, shard=False, **kw)
        same = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in
                   zip(jax.tree.leaves(sharded.state), jax.tree.leaves(plain.state), strict=True))
        strip = lambda rows: [{k: v for k, v in r.items() if k != "updates_per_s"} for r in rows]
        params = jax.tree.leaves(sharded.state.params)[0]
        plain_params = jax.tree.leaves(plain.state.params)[0]
        out[name] = {"same_state": same,
                     "same_metrics": strip(sharded.metrics) == strip(plain.metrics),
                     "same_probes": sharded.probes == plain.probes,
                     "devices": len(params.sharding.device_set),
                     "plain_devices": len(plain_params.sharding.device_set),
                     "checkpoints": training.list_checkpoints(sys.argv[1] + "/" + name)}
    mesh = sharding.member_mesh(4)
    out["mesh4"] = None if mesh is None else list(mesh.devices.shape)
    out["mesh3"] = sharding.member_mesh(3)
    out["mesh1"] = sharding.member_mesh(1)
    print("RESULT " + json.dumps(out))
""")


def test_two_devices_give_the_unsharded_numbers(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1].split(" ", 1)[1])
    # 4 CQL members over 2 devices: sharded, identical states, metrics and probes.
    assert out["cql"] == {"same_state": True, "same_metrics": True, "same_probes": True,
                          "devices": 2, "plain_devices": 1, "checkpoints": [6]}
    # 3 DQN members do not divide over 2 devices: the single-device path, same numbers.
    assert out["dqn"]["same_state"] and out["dqn"]["same_metrics"]
    assert out["dqn"]["devices"] == 1
    assert out["mesh4"] == [2] and out["mesh3"] is None and out["mesh1"] is None


def test_one_device_means_no_mesh():
    assert len(jax.devices()) == 1  # The suite's own process: the unchanged default path.
    assert sharding.member_mesh(64) is None

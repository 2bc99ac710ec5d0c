"""The accelerator benchmark's command, run at a tiny size on CPU (not timed: its shape)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import load_script

REPO = Path(__file__).resolve().parents[2]


def _script(name: str, file: str):
    return load_script(f"benchmarks/{file}", name)


def _learners():
    return _script("bench_learners", "learners.py")


def test_tiny_run_has_every_row_and_imports_no_tensorflow():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "learners.py"), "--device", "cpu",
         "--no-d3rlpy", "--steps", "6", "--num", "256", "--ensemble", "2", "--tiny",
         "--algos", "dqn,bc_gaussian", "--ensemble-algos", "cql,td3_bc", "--peak-flops",
         "1e12", "--feature-costs", "cql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["tensorflow_imported"] is False
    assert set(report["jax"]) == {"dqn", "bc_gaussian"}
    dqn = report["jax"]["dqn"]
    assert dqn["flops_per_update"] > 0 and dqn["updates_per_s"] > 0
    assert dqn["vs_plain_jax"] == dqn["updates_per_s"] / report["plain_jax"]["dqn"][
        "updates_per_s"]
    assert 0 < dqn["fraction_of_peak"] == dqn["updates_per_s"] * dqn["flops_per_update"] / 1e12
    # The continuous row has both anchors: its independent hand-written implementation
    # (plain_jax_continuous.py) and the suite's own update in a bare scan.
    gaussian = report["jax"]["bc_gaussian"]
    assert gaussian["flops_per_update"] > 0 and gaussian["updates_per_s"] > 0
    assert set(report["plain_jax"]) == {"dqn", "bc_gaussian"}
    assert set(report["update_scan"]) == {"bc_gaussian"} and "vs_update_scan" not in dqn
    assert gaussian["vs_update_scan"] == gaussian["updates_per_s"] / report["update_scan"][
        "bc_gaussian"]["updates_per_s"]
    assert gaussian["vs_plain_jax"] == gaussian["updates_per_s"] / report["plain_jax"][
        "bc_gaussian"]["updates_per_s"]
    assert set(report["anchors"]) == {"plain_jax", "update_scan"}
    assert set(report["ensemble"]) == {"cql", "td3_bc"}  # A discrete and a continuous row.
    for row in report["ensemble"].values():
        assert row["members"] == 2
        assert row["aggregate_updates_per_s"] == 2 * row["updates_per_s_per_member"]
        assert row["flops_per_update"] > 0 and row["fraction_of_matmul_peak"] > 0
    # The loop's features timed on and off, against the run with none of them.
    costs = report["feature_costs"]["cql"]
    assert set(costs) == {"all", "no_probes", "no_checkpoints", "none"}
    assert costs["none"]["vs_none"] == 1.0
    for row in costs.values():
        assert row["vs_none"] == row["updates_per_s"] / costs["none"]["updates_per_s"]


def test_rows_by_default_are_discrete_then_continuous_and_only_filters_by_kind():
    learners = _learners()
    assert learners.select_rows(",".join(learners.ALGOS + learners.CONTINUOUS_ALGOS)) == [
        ("discrete", "bc"), ("discrete", "dqn"), ("discrete", "cql"),
        ("continuous", "bc_gaussian"), ("continuous", "td3_bc"), ("continuous", "cql_sac"),
        ("continuous", "iql")]
    assert learners.select_rows("iql,dqn,td3_bc", only="continuous") == [
        ("continuous", "iql"), ("continuous", "td3_bc")]
    assert learners.select_rows("iql,dqn", only="discrete") == [("discrete", "dqn")]
    with pytest.raises(ValueError, match="^--algos: unknown sac"):
        learners.select_rows("dqn,sac")
    with pytest.raises(ValueError, match="^--ensemble-algos: unknown sac"):
        learners.select_rows("dqn,sac", flag="--ensemble-algos")


def test_unknown_row_is_a_one_line_usage_error():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "learners.py"), "--algos", "dqn,sac"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "unknown sac" in proc.stderr


def test_continuous_data_and_task_have_halfcheetah_sizes_and_episode_ids():
    learners = _learners()
    arrays = learners.synthetic_continuous(num=2500)
    assert arrays["observation"].shape == (2500, 17)
    assert arrays["action"].shape == (2500, 6) and arrays["action"].dtype == np.float32
    assert -1 <= arrays["action"].min() and arrays["action"].max() <= 1
    assert np.flatnonzero(arrays["terminal"]).tolist() == [999, 1999]
    task = learners.continuous_task()
    assert not task.is_discrete and task.num_actions is None
    assert task.action.shape == (6,) and task.observation.shape == (17,)
    # Episodes end at the terminal flags: 1000 steps here, 100 in the discrete data.
    data = learners._transitions(arrays)
    assert np.asarray(data.episode_id)[[0, 999, 1000, 1999, 2000, 2499]].tolist() == [
        0, 0, 1, 1, 2, 2]
    assert np.asarray(data.step)[[0, 999, 1000, 2499]].tolist() == [0, 999, 0, 499]
    discrete = learners._transitions(learners.synthetic(num=250))
    assert np.asarray(discrete.episode_id).tolist() == (np.arange(250) // 100).tolist()
    assert np.asarray(discrete.step).tolist() == (np.arange(250) % 100).tolist()


def test_plain_continuous_anchor_matches_the_suites_density_and_updates_every_learner():
    import jax
    import jax.numpy as jnp

    from rl_unplugged.agents import actor_critic

    plain = _script("plain_jax_continuous", "plain_jax_continuous.py")
    key = jax.random.PRNGKey(0)
    mean = jax.random.normal(key, (5, 3))
    log_std = jnp.clip(jax.random.normal(jax.random.PRNGKey(1), (5, 3)), -5.0, 2.0)
    action = jnp.tanh(jax.random.normal(jax.random.PRNGKey(2), (5, 3))) * 0.99
    np.testing.assert_allclose(plain.log_prob(mean, log_std, action),
                               actor_critic.log_prob(mean, log_std, action), rtol=1e-4,
                               atol=1e-4)
    a, lp = plain.sample(mean, log_std, key)
    np.testing.assert_allclose(lp, actor_critic.log_prob(mean, log_std, a), rtol=1e-3,
                               atol=1e-3)
    batch = {"obs": jnp.ones((4, 7)), "action": jnp.zeros((4, 3)), "reward": jnp.ones(4),
             "discount": jnp.ones(4), "next_obs": jnp.ones((4, 7))}
    for name in ("bc_gaussian", "td3_bc", "iql", "cql_sac"):
        init, update = plain.make(name, 7, 3, (8,))
        carry = init(key)
        after = update(update(carry, batch, key), batch, jax.random.PRNGKey(3))
        moved = jax.tree.map(lambda x, y: bool(jnp.any(x != y)), carry, after)
        assert any(jax.tree.leaves(moved)), name
    with pytest.raises(ValueError, match="no plain-JAX anchor"):
        plain.make("crr", 7, 3, (8,))

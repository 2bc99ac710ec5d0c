"""A tiny pool trained on a 200-transition catch log, and a study of it."""

import json

import numpy as np
import pandas as pd
import pytest

from rl_unplugged.errors import ConfigError, CorruptDataError, NotFoundError
from rl_unplugged.selection import pool, study
from tests.helpers import tiny_spec, write_random_log

DATASET = "rlu_bsuite/catch_noise10_run0"


@pytest.fixture(scope="module")
def tiny_pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool_data")
    write_random_log(tiny_spec(DATASET, num_steps=400), root)
    small = {"hidden": (16,), "batch_size": 32}
    runs = [pool.RunSpec(key="dqn", agent="dqn", config=small,
                         grid={"learning_rate": (1e-3, 3e-3)}),
            pool.RunSpec(key="cql", agent="cql", config=small),
            pool.RunSpec(key="bc", agent="bc", config=small)]
    out = pool.build_pool(DATASET, root / "pool", runs, steps=400, checkpoint_every=200,
                          data_dir=root)
    return out, root


def test_pool_records_what_the_issue_asks(tiny_pool):
    out, _ = tiny_pool
    meta = pool.read_pool(out)
    assert meta["format"] == pool.FORMAT and meta["dataset"] == DATASET
    assert len(meta["dataset_fingerprint"]) >= 16 and meta["task"] == "bsuite/catch"
    # 4 members x 2 checkpoints.
    assert len(meta["candidates"]) == 8
    by_agent = {c["agent"]: c for c in meta["candidates"]}
    assert by_agent["cql"]["pessimistic"] and not by_agent["dqn"]["pessimistic"]
    assert not by_agent["bc"]["has_q"]
    for c in meta["candidates"]:
        tr = c["true_return"]
        assert tr["num_episodes"] == 100 and tr["low"] <= tr["mean"] <= tr["high"]
    assert {c["config"]["learning_rate"] for c in meta["candidates"] if c["agent"] == "dqn"} == {
        1e-3, 3e-3}
    with pytest.raises(ConfigError, match="already exists"):
        pool.build_pool(DATASET, out, [], steps=10, checkpoint_every=10)


def test_study_writes_table_metrics_and_plots(tiny_pool, tmp_path):
    out, root = tiny_pool
    names = ("td", "sbv", "fqe", "wis", "srank")
    cfg = study.StudyConfig(sbv=study.sbv.SBVConfig(degrees=(1,), network=None),
                            fqe=study.fqe.FQEConfig(degree=1, iterations=5), valid_fraction=0.3)
    summary = study.run_study(out, names, tmp_path / "study", data_dir=root,
                              bootstrap_samples=20, config=cfg)
    table = pd.read_parquet(tmp_path / "study" / "candidates.parquet")
    assert len(table) == 8
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "study" / "candidates.csv"),
                                  check_dtype=False)
    # BC has no Q: TD error and SBV do not apply to it and say so, never ranked.
    bc = table[table["agent"] == "bc"]
    assert bc["td_score"].isna().all() and bc["td_rank"].isna().all()
    assert set(bc["name"]) <= set(summary["metrics"]["td"]["nan_candidates"])
    assert table.loc[table["agent"] != "bc", "td_rank"].notna().all()
    assert np.isfinite(table["srank_score"]).all()
    metrics = json.loads((tmp_path / "study" / "metrics.json").read_text())
    assert set(metrics["metrics"]) == set(names)
    assert "absolute_error" in metrics["metrics"]["fqe"]
    assert "absolute_error" not in metrics["metrics"]["td"]
    for plot in ("scatter", "regret", "top_k"):
        assert (tmp_path / "study" / "plots" / f"{plot}.png").stat().st_size > 0


def test_read_pool_refuses_what_is_not_a_pool(tmp_path):
    with pytest.raises(NotFoundError, match="not a candidate pool"):
        pool.read_pool(tmp_path)
    (tmp_path / pool.POOL_FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(CorruptDataError, match="format"):
        pool.read_pool(tmp_path)


def test_study_config_drops_sbv_degrees_too_wide_for_the_state():
    # Bias + monomials: C(d + 2, 2) quadratic features; 4,096 is PolyFeatures' limit.
    assert study.StudyConfig().resolve(4).sbv.degrees == (1, 2)  # 15 features
    assert study.StudyConfig().resolve(50).sbv.degrees == (1, 2)  # catch: 1,326
    assert study.StudyConfig().resolve(400).sbv.degrees == (1,)  # MinAtar: 80,601
    assert study.StudyConfig().resolve(400).sbv.alphas == (1.0, 100.0)
    chosen = study.sbv.SBVConfig(degrees=(3,))
    assert study.StudyConfig(sbv=chosen).resolve(400).sbv is chosen


def test_run_episodes_discounts_the_same_episodes():
    # Catch pays +-1 on the last of its 9 steps only: sum_t gamma^t r_t = gamma^8 * return.
    from rl_unplugged.evaluation import evaluator

    stats = evaluator.run_episodes(lambda o: np.zeros(len(o), np.int64), "bsuite/catch",
                                   range(6), num_envs=4, epsilon=0.5, gamma=0.9)
    assert (stats.lengths == 9).all() and set(np.abs(stats.returns)) == {1.0}
    np.testing.assert_allclose(stats.discounted_returns, 0.9 ** 8 * stats.returns)
    assert evaluator.run_episodes(lambda o: np.zeros(len(o), np.int64), "bsuite/catch",
                                  range(2)).discounted_returns is None


def test_pool_records_discounted_returns_of_the_protocol_episodes(tiny_pool):
    out, _ = tiny_pool
    meta = pool.read_pool(out)
    gamma = meta["gamma"]
    for c in meta["candidates"]:  # Catch: every episode is 9 steps, reward on the last.
        assert c["discounted_return"]["mean"] == pytest.approx(
            gamma ** 8 * c["true_return"]["mean"])
        assert c["discounted_return"]["num_episodes"] == 100
    refs = meta["references_discounted"]
    assert refs["gamma"] == gamma
    # The uniform random policy over the protocol's episodes, on the discounted scale.
    assert refs["random"] == pytest.approx(gamma ** 8 * meta["references"]["random"], abs=1e-6)
    assert refs["best_candidate"] == max(c["discounted_return"]["mean"]
                                         for c in meta["candidates"])


def test_value_metrics_compare_estimates_with_discounted_returns(tiny_pool, tmp_path):
    # FQE estimates the discounted value from the initial states: its absolute error and
    # type I/II errors are against the discounted return, on the discounted scale.
    out, root = tiny_pool
    cfg = study.StudyConfig(sbv=study.sbv.SBVConfig(degrees=(1,), network=None),
                            fqe=study.fqe.FQEConfig(degree=1, iterations=5), valid_fraction=0.3,
                            threshold=0.5)
    summary = study.run_study(out, ("fqe",), tmp_path / "study", data_dir=root,
                              bootstrap_samples=5, config=cfg)
    table = pd.read_csv(tmp_path / "study" / "candidates.csv")
    refs = pool.read_pool(out)["references_discounted"]
    scale = refs["best_candidate"] - refs["random"]
    truth = (table["discounted_return"] - refs["random"]) / scale
    np.testing.assert_allclose(table["discounted_normalised"], truth)
    estimate = (table["fqe_value"] - refs["random"]) / scale
    m = summary["metrics"]["fqe"]
    assert m["absolute_error"] == pytest.approx(np.mean(np.abs(estimate - truth)))
    safe, said = truth >= 0.5, estimate >= 0.5
    assert m["type_errors"]["type_i"] == pytest.approx(
        (safe & ~said).sum() / safe.sum() if safe.any() else 0.0)
    assert "discounted" in summary["value_metrics"]


def test_a_format_1_pool_gains_its_discounted_returns(tiny_pool, tmp_path):
    import shutil

    out, root = tiny_pool
    old = tmp_path / "old"
    shutil.copytree(out, old)
    meta = pool.read_pool(old)
    expected = {c["name"]: c["discounted_return"] for c in meta["candidates"]}
    for c in meta["candidates"]:
        del c["discounted_return"]
    refs = meta.pop("references_discounted")
    meta["format_version"] = 1
    (old / pool.POOL_FILE).write_text(json.dumps(meta))
    # A format-1 pool still gives a study, without value metrics, saying why.
    cfg = study.StudyConfig(fqe=study.fqe.FQEConfig(degree=1, iterations=5))
    summary = study.run_study(old, ("fqe",), tmp_path / "s1", data_dir=root,
                              bootstrap_samples=5, config=cfg)
    assert "absolute_error" not in summary["metrics"]["fqe"]
    assert "add_discounted_returns" in summary["value_metrics"]
    upgraded = pool.add_discounted_returns(old)
    assert upgraded["format_version"] == pool.FORMAT_VERSION == 2
    assert upgraded["references_discounted"] == refs
    assert {c["name"]: c["discounted_return"] for c in upgraded["candidates"]} == expected
    assert pool.read_pool(old) == upgraded
    # The undiscounted returns are measured again and must match what was stored.
    upgraded["candidates"][0]["true_return"]["mean"] += 0.5
    (old / pool.POOL_FILE).write_text(json.dumps(upgraded))
    with pytest.raises(CorruptDataError, match="re-evaluates to"):
        pool.add_discounted_returns(old)

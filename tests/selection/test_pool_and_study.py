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
    out = pool.build_pool(DATASET, root / "pool", runs, steps=20, checkpoint_every=10,
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

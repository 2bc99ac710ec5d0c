"""The science check (issue 8): CQL vs DQN on narrow data, P(improvement) with CIs."""

import dataclasses
import json

import numpy as np
import pytest

from rl_unplugged import baselines, registry
from rl_unplugged.errors import ConfigError
from tests.helpers import tiny_spec, write_random_log

DATASETS = ["rlu_bsuite/catch_noise0_run0", "rlu_bsuite/catch_noise10_run0"]


@pytest.fixture
def tiny_catch(tmp_path, monkeypatch):
    specs = {name: tiny_spec(name, num_steps=600) for name in DATASETS}
    for i, spec in enumerate(specs.values()):
        write_random_log(spec, tmp_path, seed=i)
    real = registry.get_dataset
    monkeypatch.setattr(registry, "get_dataset", lambda n: specs.get(n) or real(n))
    return tmp_path


def test_science_check_reports_probability_of_improvement(tiny_catch, tmp_path):
    study = baselines.science_check(DATASETS, [0.5, 1.0], alpha=1.0, steps=20,
                                    seeds=(0, 1, 2), out_dir=tmp_path / "runs",
                                    hidden=(8,), data_dir=tiny_catch, reps=50)
    assert len(study["cells"]) == 4
    for cell in study["cells"]:
        point, low, high = cell["p_cql_over_dqn"]
        assert 0.0 <= low <= point <= high <= 1.0
        # P(CQL > DQN) from the per-seed means, ties counting half (rliable).
        cql = np.asarray(cell["results"]["cql"]["per_seed_mean_return"])
        dqn = np.asarray(cell["results"]["dqn"]["per_seed_mean_return"])
        expected = np.mean((cql[:, None] > dqn[None]) + 0.5 * (cql[:, None] == dqn[None]))
        assert point == pytest.approx(expected)
    assert {c["fraction"] for c in study["cells"]} == {0.5, 1.0}
    # Each cell names the bytes it trained on: the raw log's manifest digest.
    import hashlib

    from rl_unplugged import paths

    manifest = paths.raw_dir(registry.get_dataset(DATASETS[0]), tiny_catch) / "manifest.json"
    first = study["cells"][0]["build"]
    assert first["manifest_sha256"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert first["note"].startswith("a rebuild, not the dataset's recorded build")
    assert set(study["overall"]) == {"0.5", "1"}
    assert all(v["tasks"] == 2 and v["seeds"] == 3 for v in study["overall"].values())


def test_a_bad_fraction_is_refused(tiny_catch, tmp_path):
    with pytest.raises(ConfigError, match="fraction"):
        baselines.science_check(DATASETS[:1], [0.0], alpha=1.0, steps=20, seeds=(0,),
                                out_dir=tmp_path, data_dir=tiny_catch)


def test_sanity_check_compares_each_learner_with_bc(tmp_path, monkeypatch):
    # The training and evaluation are narrow_data_study's (tested above); here the
    # verdicts: P(X > BC) from the per-seed means, and which learner did not beat BC.
    per_seed = {"bc": [10.0, 12.0, 11.0], "td3_bc": [20.0, 25.0, 21.0],
                "iql": [10.0, 12.0, 11.0], "iql_scaled": [11.0, 13.0, 12.0],
                "cql": [5.0, 6.0, 4.0]}
    calls = {}

    def fake_study(dataset, *, fraction, learners, **kwargs):
        calls.update(dataset=dataset, fraction=fraction, learners=dict(learners))
        return {"dataset": dataset, "results": {
            k: {"per_seed_mean_return": v, "mean": float(np.mean(v))}
            for k, v in per_seed.items()}}

    monkeypatch.setattr(baselines, "narrow_data_study", fake_study)
    study = baselines.sanity_check("rlu_control/cartpole_swingup_medium_replay_run0",
                                   steps=10, seeds=(0, 1, 2), out_dir=tmp_path, reps=50)
    assert calls["fraction"] == 1.0 and set(calls["learners"]) == set(per_seed)
    assert calls["learners"]["cql"][0] == "cql_sac"
    assert calls["learners"]["iql_scaled"] == ("iql", {"normalize_rewards": True})
    v = study["verdicts"]
    assert set(v) == {"td3_bc", "iql", "iql_scaled", "cql"}
    assert v["td3_bc"]["p_over_bc"][0] == 1.0 and v["td3_bc"]["mean_beats_bc"]
    assert v["iql"]["p_over_bc"][0] == 0.5 and not v["iql"]["mean_beats_bc"]
    assert v["cql"]["p_over_bc"][0] == 0.0 and not v["cql"]["ci_above_half"]
    with pytest.raises(ConfigError, match="'bc' entry"):
        baselines.sanity_check("x", steps=1, seeds=(0,), out_dir=tmp_path,
                               learners={"iql": ("iql", {})})


def test_sanity_command_names_an_unknown_learner(capsys):
    from rl_unplugged.cli import main as cli_main

    assert cli_main(["baselines", "sanity", "--learners", "bc,td4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown td4" in err and "td3_bc" in err


def test_every_committed_baseline_config_loads_and_its_datasets_are_allowed():
    from pathlib import Path

    from rl_unplugged.evaluation import protocols

    paths = sorted((Path(__file__).parents[1] / "baselines" / "configs").glob("*.json"))
    assert len(paths) >= 13
    for path in paths:
        cfg = baselines.BaselineConfig.from_json(path)  # Validates agent, config, tasks.
        for task_id, dataset in cfg.datasets.items():
            protocols.get_protocol(task_id).check_datasets([dataset])


_LOW = {"classic/cartpole": 1.0, "classic/acrobot": -500.0, "classic/mountaincar": -200.0}
_DATASETS = {t: f"rlu_classic/{t.split('/')[1]}_noise0_run0" for t in _LOW}


@pytest.fixture
def fake_training(monkeypatch):
    """Fakes loading, training and evaluation (each counted): the tests below check which
    tasks run, which records are reused, and when the submission is assembled. Returns
    the list of trained task ids."""
    import functools
    import types

    from rl_unplugged import training
    from rl_unplugged.data import loader, reference_builds
    from rl_unplugged.evaluation import evaluator

    trained, seeds_of = [], {}

    def train(agent, data, task, *, seeds, out_dir, **kwargs):
        trained.append(task.id)
        seeds_of[str(out_dir)] = seeds

    def evaluate(policy, protocol, **kwargs):
        return {"format": evaluator.RESULT_FORMAT, "task": protocol.task_id,
                "protocol": {"hash": protocol.hash, "settings_hash": protocol.settings_hash},
                "episode_seeds": protocol.episode_seeds, "selection": {"method": "final"},
                "datasets": dict(kwargs["datasets"]),
                "returns": [_LOW[protocol.task_id] + len(trained)] * protocol.num_episodes,
                "mean_return": _LOW[protocol.task_id] + len(trained),
                "training_run": {"seed": policy.seed}}

    monkeypatch.setattr(loader, "load_transitions", lambda *a, **k: types.SimpleNamespace(size=1))
    # No raw log here: a record names no build unless a test sets one.
    monkeypatch.setattr(reference_builds, "local_digest", lambda name, data_dir=None: None)
    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(training, "list_members", lambda run_dir: [
        {"member": m, "seed": s, "grid": {}} for m, s in enumerate(seeds_of[str(run_dir)])])
    # Wrapped: the CLI's parser reads the real function's defaults from its signature.
    monkeypatch.setattr(evaluator, "load_run_policy", functools.wraps(evaluator.load_run_policy)(
        lambda run_dir, member, **k: types.SimpleNamespace(
            policy=None, seed=seeds_of[str(run_dir)][member])))
    monkeypatch.setattr(evaluator, "evaluate", functools.wraps(evaluator.evaluate)(evaluate))
    return trained


def test_a_track_runs_task_by_task_and_reuses_finished_tasks(tmp_path, fake_training,
                                                              monkeypatch):
    trained = fake_training
    datasets = _DATASETS
    cfg = baselines.BaselineConfig(name="x", agent="bc", track="classic", steps=1,
                                   seeds=(0, 1, 2), datasets=datasets)
    out = tmp_path / "run"
    assert baselines.run(cfg, out, tasks=["classic/cartpole"]) is None  # Two pending.
    assert trained == ["classic/cartpole"] and not (out / "submission.json").exists()
    # The call that finishes the track assembles the submission (cartpole's reused).
    first = baselines.run(cfg, out, tasks=["classic/acrobot", "classic/mountaincar"])
    assert trained == ["classic/cartpole", "classic/acrobot", "classic/mountaincar"]
    logged = []
    submission = baselines.run(cfg, out, log=logged.append)  # Trains nothing.
    assert submission == first
    assert len(trained) == 3 and sum("reusing" in m for m in logged) == 3
    assert (out / "submission.json").exists()
    # Each task's runs are its own records (cartpole's from the first call).
    assert [r["returns"][0] for r in submission["results"]["classic/cartpole"]["runs"]] == \
        [2.0, 2.0, 2.0]
    assert submission["results"]["classic/mountaincar"]["runs"][0]["returns"][0] == -197.0
    # Each record names its training run's seed (the loaded run policy is evaluated).
    for seed in cfg.seeds:
        saved = json.loads((out / "results" / f"classic-acrobot-seed{seed}.json").read_text())
        assert saved["training_run"]["seed"] == seed
    # A change of one task's references alone (same settings): its records are re-scored
    # and saved so, nothing is trained, and the submission carries the new protocol.
    from rl_unplugged.evaluation import protocols, references

    doc = references.record_references(
        tmp_path / "refs.json", tasks=[], existing=protocols.load_references(),
        expert={"classic/acrobot": {"value": -70.0, "status": "measured", "how": "test"}})
    derived = protocols.derive_protocols(doc)
    old_hash = protocols.get_protocol("classic/acrobot").hash
    assert derived["classic/acrobot"].hash != old_hash
    with monkeypatch.context() as m:
        m.setattr(protocols, "get_protocol", lambda task_id: derived[task_id])
        m.setattr(protocols, "all_protocols", lambda: derived)
        rescored = baselines.run(cfg, out)
        assert len(trained) == 3
        saved = json.loads((out / "results" / "classic-acrobot-seed0.json").read_text())
        assert saved["protocol"]["hash"] == derived["classic/acrobot"].hash
        assert saved["rescored_from"]["hash"] == old_hash
        assert rescored["results"]["classic/acrobot"]["protocol_hash"] == \
            derived["classic/acrobot"].hash
    # Another config (more steps) or a protocol record gone: that task runs again.
    again = dataclasses.replace(cfg, steps=2)
    baselines.run(again, out, tasks=["classic/cartpole"])
    assert trained[-1] == "classic/cartpole" and len(trained) == 4
    (out / "results" / "classic-acrobot-seed1.json").unlink()
    assert baselines.run(again, out, tasks=["classic/cartpole"]) is None  # acrobot pending.
    assert len(trained) == 4
    with pytest.raises(ConfigError, match="not in track"):
        baselines.run(cfg, out, tasks=["bsuite/catch"])


def test_records_and_submission_name_the_build_trained_on(tmp_path, fake_training,
                                                          monkeypatch):
    # A rebuilt learning run is other data under the same name: each record names its
    # raw log's manifest digest, the submission says NAME:BUILD, and a finished task is
    # not reused over another local build of its dataset.
    from rl_unplugged.data import reference_builds

    builds = {name: f"{i:x}" * 64 for i, name in enumerate(_DATASETS.values(), start=10)}
    monkeypatch.setattr(reference_builds, "local_digest",
                        lambda name, data_dir=None: builds.get(name))
    cfg = baselines.BaselineConfig(name="x", agent="bc", track="classic", steps=1,
                                   seeds=(0, 1, 2), datasets=_DATASETS)
    out = tmp_path / "run"
    submission = baselines.run(cfg, out)
    for task, dataset in _DATASETS.items():
        short = builds[dataset][:16]
        assert submission["results"][task]["datasets"] == [f"{dataset}:{short}"]
        record = baselines.record_path(out, task, 1)
        assert json.loads(record.read_text())["datasets"] == {dataset: short}
    assert baselines.run(cfg, out) == submission  # The same builds: reused.
    builds[_DATASETS["classic/acrobot"]] = "f" * 64  # Rebuilt with other bytes.
    with pytest.raises(ConfigError, match=r"build .*bbbbbbbbbbbbbbbb, but the local build is "
                                          r"ffffffffffffffff; remove the run directory"):
        baselines.run(cfg, out)
    # Records that name two builds of one dataset cannot make one submission.
    records = [{"task": "classic/acrobot", "datasets": {"d": "a"}},
               {"task": "classic/acrobot", "datasets": {"d": "b"}}]
    from rl_unplugged.leaderboard import board

    with pytest.raises(ConfigError, match="one dataset in more than one version"):
        board.result_datasets(records)
    records[1]["datasets"] = {"d": None}  # One names a build, one none: also unclear.
    with pytest.raises(ConfigError, match="more than one version"):
        board.result_datasets(records)


def test_records_trained_elsewhere_are_adopted_and_checked(tmp_path, fake_training, capsys):
    # Seeds 0-1 of cartpole ran in one place, seed 2 apart (an interrupted run's missing
    # seed); adopted together, `run` reuses the task and trains only the others.
    from rl_unplugged.cli import main as cli_main
    from rl_unplugged.evaluation import evaluator

    trained = fake_training
    cfg = baselines.BaselineConfig(name="x", agent="bc", track="classic", steps=1,
                                   seeds=(0, 1, 2), datasets=_DATASETS)
    for where, seeds in (("a", (0, 1)), ("b", (2,))):
        baselines.run(dataclasses.replace(cfg, seeds=seeds), tmp_path / where,
                      tasks=["classic/cartpole"])
    found = {s: tmp_path / ab / "results" / f"classic-cartpole-seed{s}.json"
             for ab, seeds in (("a", (0, 1)), ("b", (2,))) for s in seeds}
    with pytest.raises(ConfigError, match=r"records for seeds \[0, 1\]"):
        baselines.adopt(cfg, tmp_path / "out", "classic/cartpole", {0: found[0], 1: found[1]},
                        source="here")
    with pytest.raises(ConfigError, match="not 'classic/acrobot'"):
        baselines.adopt(cfg, tmp_path / "out", "classic/acrobot", found, source="here")
    with pytest.raises(ConfigError, match="not in track"):
        baselines.adopt(cfg, tmp_path / "out", "bsuite/catch", found, source="here")
    with pytest.raises(ConfigError, match="source"):
        baselines.adopt(cfg, tmp_path / "out", "classic/cartpole", found, source=" ")
    run1 = "rlu_classic/cartpole_noise0_run1"
    other = dataclasses.replace(cfg, datasets={**_DATASETS, "classic/cartpole": run1})
    with pytest.raises(ConfigError, match="not \\['rlu_classic/cartpole_noise0_run1'\\]"):
        baselines.adopt(other, tmp_path / "out", "classic/cartpole", found, source="here")
    stale = json.loads(found[2].read_text())
    stale["protocol"]["hash"] = "0" * 64  # Evaluated before the references changed.
    evaluator.save_result(stale, tmp_path / "stale" / "classic-cartpole-seed2.json")
    with pytest.raises(ConfigError, match="rescore it first"):
        baselines.adopt(cfg, tmp_path / "out", "classic/cartpole",
                        {**found, 2: tmp_path / "stale" / "classic-cartpole-seed2.json"},
                        source="here")
    assert not (tmp_path / "out").exists()  # Nothing written by a refused adoption.
    # Through the command: seeds from the file names; then run reuses cartpole.
    config = tmp_path / "x.json"
    config.write_text(json.dumps({**dataclasses.asdict(cfg), "seeds": [0, 1, 2]}))
    assert cli_main(["baselines", "adopt", str(config), *map(str, found.values()),
                     "--task", "classic/cartpole", "--source", "two runs",
                     "--out", str(tmp_path / "out")]) == 0
    adopted = json.loads((tmp_path / "out" / "x" / "classic-cartpole" / baselines.ADOPTED)
                         .read_text())
    assert adopted["source"] == "two runs" and sorted(adopted["records"]) == ["0", "1", "2"]
    count = len(trained)
    assert cli_main(["baselines", "run", str(config), "--out", str(tmp_path / "out"),
                     "--results", str(tmp_path / "recorded")]) == 0
    assert trained[count:] == ["classic/acrobot", "classic/mountaincar"]
    assert capsys.readouterr().out.count("reusing") == 1
    submission = json.loads((tmp_path / "recorded" / "x" / "submission.json").read_text())
    # The recorded results keep the adopted task's provenance beside its records.
    assert json.loads((tmp_path / "recorded" / "x" / f"classic-cartpole-{baselines.ADOPTED}")
                      .read_text()) == adopted
    runs = submission["results"]["classic/cartpole"]["runs"]
    assert [r["returns"][0] for r in runs] == [2.0, 2.0, 3.0]  # a's two, then b's.
    assert cli_main(["baselines", "adopt", str(config), str(config), "--task",
                     "classic/cartpole", "--source", "x", "--out", str(tmp_path / "out")]) == 2
    assert "its seed is unknown" in capsys.readouterr().err

"""Random references reproduce; normalisation is exact and refuses missing references."""

import json

import numpy as np
import pytest

from rl_unplugged.evaluation import evaluator, normalisation, protocols, references


@pytest.mark.parametrize("task_id", ["classic/cartpole", "minatar/breakout"])
def test_recorded_random_reference_reproduces(task_id):
    recorded = protocols.get_protocol(task_id).references["random"]
    fresh = references.measure_random_reference(task_id, num_envs=5)
    assert fresh["value"] == recorded["value"]
    assert fresh["std"] == recorded["std"] and fresh["num_episodes"] == 100
    seeds = protocols.get_protocol(task_id).episode_seeds
    stats = evaluator.run_episodes(lambda o: np.zeros(len(o), np.int64), task_id, seeds,
                                   epsilon=1.0)
    assert fresh["value"] == stats.returns.mean()


def test_measure_reference_takes_any_policy():
    rec = references.measure_reference(lambda o: np.zeros(len(o), np.int64),
                                       "classic/cartpole", how="always push left")
    assert rec["status"] == "measured" and rec["how"] == "always push left"
    assert rec["epsilon"] == 0.0 and 5 <= rec["value"] <= 12  # Falls within ~10 steps.


def test_record_references_keeps_other_tasks_and_marks_expert_pending(tmp_path):
    existing = {"format": references.REFERENCES_FORMAT,
                "tasks": {"bsuite/catch": {"random": {"value": -0.5}, "expert": {"value": 1.0}}}}
    out = tmp_path / "refs.json"
    doc = references.record_references(out, tasks=["classic/cartpole"], existing=existing)
    assert json.loads(out.read_text()) == doc
    assert doc["tasks"]["bsuite/catch"] == existing["tasks"]["bsuite/catch"]
    cp = doc["tasks"]["classic/cartpole"]
    assert cp["random"]["value"] == protocols.get_protocol(
        "classic/cartpole").references["random"]["value"]
    assert cp["expert"] == {"value": None, "status": "pending",
                            "note": references.EXPERT_PENDING_NOTE}


def _protocol(random, expert):
    return protocols.make_protocol(protocols.settings("classic/cartpole", num_episodes=2),
                                   {"random": {"value": random}, "expert": {"value": expert}})


def test_normalise_hand_computed():
    p = _protocol(10.0, 110.0)
    np.testing.assert_allclose(normalisation.normalise([10.0, 60.0, 110.0, 210.0], p),
                               [0.0, 0.5, 1.0, 2.0])


def test_normalise_refuses_a_pending_reference():
    with pytest.raises(normalisation.MissingReferenceError, match="expert reference is pending"):
        normalisation.normalise([1.0], protocols.make_protocol(
            protocols.settings("classic/cartpole", num_episodes=2),
            {"random": {"value": 0.0}, "expert": references.pending_expert()}))
    with pytest.raises(normalisation.MissingReferenceError, match="random"):
        normalisation.normalise([1.0], _protocol(None, 3.0))
    with pytest.raises(ValueError, match="equal"):
        normalisation.normalise([1.0], _protocol(3.0, 3.0))


def test_record_expert_only(tmp_path):
    existing = protocols.load_references()
    expert = {"value": 42.0, "status": "measured", "how": "test"}
    doc = references.record_references(tmp_path / "r.json", tasks=[], existing=existing,
                                       expert={"classic/cartpole": expert})
    assert doc["tasks"]["classic/cartpole"]["expert"] == expert
    assert doc["tasks"]["classic/cartpole"]["random"] == existing["tasks"]["classic/cartpole"][
        "random"]
    derived = protocols.derive_protocols(doc)["classic/cartpole"]
    assert derived.settings_hash == protocols.get_protocol("classic/cartpole").settings_hash
    assert derived.hash != protocols.get_protocol("classic/cartpole").hash
    assert normalisation.normalise([42.0], derived)[0] == 1.0


def test_expert_reference_is_the_better_of_two_greedy_best_checkpoints(tmp_path, monkeypatch):
    # Issue 8: the expert reference is the better of the behaviour run's best checkpoint
    # and that of a separately trained run twice as long, each chosen by greedy return
    # on held-out seeds (never the protocol's) and measured under the protocol.
    from rl_unplugged import generation, paths
    from rl_unplugged.evaluation import references
    from rl_unplugged.evaluation.evaluator import run_episodes
    from tests.generation.helpers import tiny_spec

    spec = tiny_spec(num_steps=300)  # A tiny catch run stands in for noise0 run0.
    monkeypatch.setattr(references.registry, "get_dataset", lambda name: spec)
    monkeypatch.setattr(references.registry, "get_task", lambda task_id: spec.task)
    record = references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4)
    seeds = references.protocols_lib.settings("bsuite/catch")["evaluation"]["episode_seeds"]
    long_spec = references.long_run_spec(spec.task, 0)
    assert long_spec.num_steps == 2 * spec.task.behaviour.num_steps == 1200
    assert long_spec.run == 1 and long_spec.seed != spec.seed
    values = []
    for log_dir in (paths.raw_dir(spec, tmp_path),
                    paths.raw_dir(long_spec, tmp_path / references.LONG_RUN_DIR)):
        best, means = generation.best_checkpoint_greedy(log_dir, spec.task)
        _, params, info = generation.load_checkpoint(log_dir, sorted(means).index(best))
        policy = generation.greedy_policy(spec.task, params, spec.task.behaviour.hidden)
        values.append(run_episodes(policy, spec.task, seeds, num_envs=7).returns.mean())
    assert [c["value"] for c in record["candidates"]] == pytest.approx(values)
    assert record["status"] == "measured" and record["value"] == pytest.approx(max(values))
    assert spec.name in record["candidates"][0]["how"]
    assert "long run (1200 steps" in record["candidates"][1]["how"]
    assert record["how"].startswith("best of two candidates")
    short = references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                                long_run=False)
    assert short["value"] == pytest.approx(values[0]) and len(short["candidates"]) == 1
    assert "long run not measured" in short["how"]


def test_an_expert_reference_can_reuse_the_recorded_behaviour_candidate(tmp_path,
                                                                       monkeypatch):
    # A long run measured beside the behaviour run's recorded candidate: the behaviour
    # run is neither built nor measured again, and the record says which was reused.
    from rl_unplugged import paths
    from rl_unplugged.errors import NotFoundError
    from rl_unplugged.evaluation import references
    from tests.generation.helpers import tiny_spec

    spec = tiny_spec(num_steps=300)
    monkeypatch.setattr(references.registry, "get_dataset", lambda name: spec)
    monkeypatch.setattr(references.registry, "get_task", lambda task_id: spec.task)
    recorded = {"value": -0.25, "std": 0.5, "how": f"greedy policy of the behaviour run "
                f"{spec.name}'s best checkpoint (index 3 of 5)"}
    doc = {"tasks": {"bsuite/catch": {"expert": {
        "status": "measured", "value": -0.25, "num_episodes": 100,
        "measured_at": "2026-11-25T02:04:11+00:00", "candidates": [recorded]}}}}
    monkeypatch.setattr(references.protocols_lib, "load_references", lambda: doc)
    record = references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                                 behaviour_as_recorded=True)
    assert not paths.raw_dir(spec, tmp_path).exists()  # Never built.
    assert record["candidates"][0] == {
        **recorded, "how": recorded["how"] + "; as recorded on 2026-11-25, not re-measured",
        "measured_at": "2026-11-25T02:04:11+00:00"}
    assert "long run (1200 steps" in record["candidates"][1]["how"]
    assert record["value"] == max(c["value"] for c in record["candidates"])
    assert record["how"].startswith("best of two candidates")
    # When the reused candidate wins (catch's maximum return, 1, ties go to it), the
    # record is still a whole measurement, dated when that candidate was measured.
    expert = doc["tasks"]["bsuite/catch"]["expert"]
    expert.update(value=1.0, std=0.0, seeds="the protocol's evaluation episode_seeds",
                  epsilon=0.0, package_version="0.1.0")
    expert["candidates"] = [{**recorded, "value": 1.0, "std": 0.0}]
    won = references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                              behaviour_as_recorded=True)
    assert won["value"] == 1.0 and won["how"].startswith("best of two candidates: greedy")
    assert {k: won[k] for k in ("status", "num_episodes", "seeds", "epsilon",
                                "package_version", "measured_at")} == {
        "status": "measured", "num_episodes": 100, "epsilon": 0.0, "package_version": "0.1.0",
        "seeds": "the protocol's evaluation episode_seeds",
        "measured_at": "2026-11-25T02:04:11+00:00"}
    # Reused again from that record: one note, the first measurement's date.
    doc["tasks"]["bsuite/catch"]["expert"] = won
    again = references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                                behaviour_as_recorded=True)
    assert again["candidates"][0] == won["candidates"][0]
    assert again["candidates"][0]["how"].count("as recorded on") == 1
    doc["tasks"]["bsuite/catch"]["expert"] = {**expert, "candidates": [recorded]}
    with pytest.raises(ValueError, match="needs long_run=True"):
        references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                            long_run=False, behaviour_as_recorded=True)
    doc["tasks"]["bsuite/catch"]["expert"]["num_episodes"] = 10
    with pytest.raises(NotFoundError, match="over 10 episodes, the protocol has 100"):
        references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                            behaviour_as_recorded=True)
    doc["tasks"]["bsuite/catch"]["expert"]["candidates"] = [{**recorded, "how": "other"}]
    with pytest.raises(NotFoundError, match="no measured candidate of the behaviour run"):
        references.measure_expert_reference("bsuite/catch", tmp_path, num_envs=4,
                                            behaviour_as_recorded=True)


def test_a_continuous_expert_reference_plays_the_best_checkpoints_mean_action(
        tmp_path, monkeypatch):
    # Issue 10: the D4PG's checkpoints, chosen on held-out seeds by their mean-action
    # return, measured under the protocol (deterministic action, no noise).
    from rl_unplugged.evaluation.evaluator import run_episodes
    from rl_unplugged.generation import continuous
    from tests.generation.test_continuous import _tiny

    spec = _tiny("rlu_control/cartpole_swingup_noise0_run0", num_steps=12)
    monkeypatch.setattr(references.registry, "get_dataset", lambda name: spec)
    monkeypatch.setattr(references.registry, "get_task", lambda task_id: spec.task)
    record = references.measure_expert_reference("control/cartpole_swingup", tmp_path,
                                                 num_envs=4, long_run=False)
    log_dir = references.paths.raw_dir(spec, tmp_path)
    best, means = continuous.best_checkpoint(log_dir, spec.task)
    agent, params, _ = continuous.load_checkpoint(log_dir, sorted(means).index(best))
    seeds = references.protocols_lib.settings("control/cartpole_swingup")["evaluation"][
        "episode_seeds"]
    value = run_episodes(continuous.mean_action_policy(agent, params), spec.task, seeds,
                         num_envs=5).returns.mean()
    assert record["value"] == pytest.approx(value)
    assert record["how"].startswith("best of one") and "mean action of the behaviour run" \
        in record["how"]
    # The tiny log is not the dataset's recorded build, and the record says so.
    assert "; a rebuild, not the dataset's recorded build (sha256 " in record["how"]
    # A task whose long run is another agent's (HalfCheetah: the fallback SAC): that
    # agent's log, under its own directory, is the second candidate.
    from rl_unplugged.data.raw_log import read_manifest

    monkeypatch.setattr(references, "LONG_RUN_AGENT", {"control/cartpole_swingup": "sac"})
    assert references.LONG_RUN_SAC_SETTINGS == {"random_steps": 10_000}
    monkeypatch.setattr(references, "LONG_RUN_SAC_SETTINGS", {"random_steps": 5})
    long_spec = references.long_run_spec(spec.task, 0)
    long_dir = references.paths.raw_dir(long_spec, tmp_path / f"{references.LONG_RUN_DIR}_sac")
    with pytest.raises(FileNotFoundError, match="no long-run log"):  # As is: never built.
        references.measure_expert_reference("control/cartpole_swingup", tmp_path,
                                            num_envs=4, long_run_as_is=True)
    both = references.measure_expert_reference("control/cartpole_swingup", tmp_path,
                                               num_envs=4)
    assert read_manifest(long_dir)["generation"]["sac"]["random_steps"] == 5
    assert not (tmp_path / references.LONG_RUN_DIR).exists()
    assert both["candidates"][0]["value"] == pytest.approx(value)
    assert ("long run of the fallback SAC (random_steps=5) (24 steps, seed of run 1)"
            in both["candidates"][1]["how"])
    assert both["value"] == pytest.approx(max(c["value"] for c in both["candidates"]))
    # As is, on the complete log: the same record; on a log of other SAC settings: refused.
    as_is = references.measure_expert_reference("control/cartpole_swingup", tmp_path,
                                                num_envs=4, long_run_as_is=True)
    def untimed(record):
        return [{k: v for k, v in c.items() if k != "measured_at"} for c in record["candidates"]]

    assert untimed(as_is) == untimed(both)
    monkeypatch.setattr(references, "LONG_RUN_SAC_SETTINGS", {"random_steps": 6})
    with pytest.raises(ValueError, match="another generation config"):
        references.measure_expert_reference("control/cartpole_swingup", tmp_path,
                                            num_envs=4, long_run_as_is=True)
    # A long run stopped half way is measured as it stands, and the record says how far.
    from rl_unplugged.generation import sac

    seen = []

    def stop_half_way(n):
        seen.append(n)
        if sum(seen) >= 12:
            raise KeyboardInterrupt

    root = tmp_path / "half" / f"{references.LONG_RUN_DIR}_sac"
    with pytest.raises(KeyboardInterrupt):
        continuous.generate(long_spec, root, config=sac.SACConfig(random_steps=6),
                            progress=stop_half_way, shard_transitions=3)
    assert not read_manifest(references.paths.raw_dir(long_spec, root)).get("complete")
    half = references.measure_expert_reference("control/cartpole_swingup", tmp_path / "half",
                                               num_envs=4, long_run_as_is=True)
    assert "(24 steps, seed of run 1; not finished: checkpoints to " in \
        half["candidates"][1]["how"]
    assert not read_manifest(references.paths.raw_dir(long_spec, root)).get("complete")
    monkeypatch.setattr(references, "LONG_RUN_AGENT", {"control/cartpole_swingup": "cql"})
    with pytest.raises(ValueError, match="only 'sac'"):
        references.measure_expert_reference("control/cartpole_swingup", tmp_path, num_envs=4)

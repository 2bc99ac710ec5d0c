"""Frozen protocols: derived from the registry, complete, hashed, tamper-evident."""

import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import protocols as P


def test_frozen_file_equals_derivation_from_registry_and_references():
    frozen = P.all_protocols()
    derived = P.derive_protocols(P.load_references())
    assert list(frozen) == list(derived)
    for task_id in frozen:
        assert frozen[task_id] == derived[task_id], (
            f"{task_id}: registry or references changed; re-run `rlu protocols freeze` "
            "and bump PROTOCOL_VERSION if returns-deciding settings changed")


def test_every_task_has_a_complete_protocol():
    protocols = P.all_protocols()
    assert set(protocols) == {t.id for t in registry.tasks()}
    for task in registry.tasks():
        p = protocols[task.id]
        assert p.num_episodes == len(p.episode_seeds) == 100
        assert len(set(p.episode_seeds)) == 100
        assert all(0 <= s < 2**31 for s in p.episode_seeds)
        assert p.epsilon == 0.0 and p.frame_stack == 1
        env = p.content["environment"]
        assert env["sticky_action_prob"] == task.sticky_action_prob
        assert env["max_episode_steps"] == task.max_episode_steps
        if not task.builds_datasets:  # Atari: tests/evaluation/test_atari_protocols.py.
            continue
        assert p.datasets and all(registry.get_dataset(d).task == task for d in p.datasets)
        assert len(p.datasets) == len([d for d in registry.datasets() if d.task == task])
        random = p.references["random"]
        assert random["status"] == "measured" and isinstance(random["value"], float)
        expert = p.references["expert"]
        if expert["status"] == "measured":  # Measured with how (checkpoint, data digest).
            assert isinstance(expert["value"], float) and "checkpoint" in expert["how"]
            assert expert["value"] != random["value"]
        else:
            assert expert["value"] is None and expert["status"] == "pending"


def test_seeds_are_a_pure_function_of_the_task():
    assert P.episode_seeds("bsuite/catch", 5) == P.episode_seeds("bsuite/catch", 5)
    assert P.episode_seeds("bsuite/catch", 5) != P.episode_seeds("classic/cartpole", 5)
    assert P.episode_seeds("bsuite/catch", 3) == P.episode_seeds("bsuite/catch", 5)[:3]


def test_references_enter_the_hash_but_not_the_settings_hash():
    s = P.settings("classic/cartpole", num_episodes=3)
    a = P.make_protocol(s, {"random": {"value": 1.0}, "expert": {"value": 2.0}})
    b = P.make_protocol(s, {"random": {"value": 1.0}, "expert": {"value": 3.0}})
    assert a.settings_hash == b.settings_hash and a.hash != b.hash
    c = P.make_protocol(P.settings("classic/cartpole", num_episodes=4),
                        {"random": {"value": 1.0}, "expert": {"value": 2.0}})
    assert c.settings_hash != a.settings_hash
    assert a.hash == P.content_hash({**s, "references": a.references})


def test_tampered_protocol_is_refused():
    content = P.get_protocol("bsuite/catch").content
    content["evaluation"]["epsilon"] = 0.5
    with pytest.raises(ValueError, match="settings_hash"):
        P.Protocol(content)
    content = P.get_protocol("bsuite/catch").content
    content["references"]["random"]["value"] = 3.0
    with pytest.raises(ValueError, match="hash"):
        P.Protocol(content)


def test_unknown_task_lists_close_names():
    with pytest.raises(KeyError, match="bsuite/catch"):
        P.get_protocol("bsuite/catc")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        P.settings("bsuite/catch", num_episodes=0)
    with pytest.raises(ValueError):
        P.settings("bsuite/catch", epsilon=1.5)


def test_feasible_range_is_derived_not_hashed():
    p = P.get_protocol("bsuite/catch")
    assert p.feasible_return_range == (-1.0, 1.0)
    assert P.get_protocol("classic/acrobot").feasible_return_range == (-500.0, 0.0)
    assert P.get_protocol("classic/mountaincar").feasible_return_range == (-200.0, -1.0)
    assert "feasible" not in P.canonical_json(p.content)
    # The cap that bounds it is the protocol's own (a protocol with a shorter cap than
    # the registry's would get a narrower range).
    content = P.settings("classic/cartpole")
    content["environment"]["max_episode_steps"] = 100
    short = P.make_protocol(content, {"random": {"value": 0.0}, "expert": {"value": 1.0}})
    assert short.feasible_return_range == (1.0, 100.0)


def test_check_returns_names_the_field_and_the_range():
    p = P.get_protocol("bsuite/catch")
    ok = [1.0, -1.0] * 50
    p.check_returns(ok)
    cases = [(3, 1e308, r"\$\.returns\[3\]: 1e\+308 is outside the feasible range \[-1, 1\] "
                        r"of bsuite/catch"),
             (0, float("nan"), r"\$\.returns\[0\]: nan is outside"),
             (7, float("-inf"), r"\$\.returns\[7\]: -inf is outside"),
             (1, 10**400, r"\$\.returns\[1\]: 1000000.*\.\.\. is outside"),
             (2, "1.0", r"\$\.returns\[2\]: '1\.0' is not a number"),
             (4, True, r"\$\.returns\[4\]: True is not a number")]
    for i, value, match in cases:
        bad = list(ok)
        bad[i] = value
        with pytest.raises(P.ProtocolViolation, match=match) as info:
            p.check_returns(bad)
        assert info.value.field == ("returns", i) and isinstance(info.value, ValueError)
    with pytest.raises(P.ProtocolViolation, match=r"\$\.returns: 101 returns for 100"):
        p.check_returns([*ok, 1.0])
    with pytest.raises(P.ProtocolViolation, match=r'\$\.results\["bsuite/catch"\]\.x\[5\]'):
        p.check_returns([*ok[:5], 2.0, *ok[6:]], field=("results", "bsuite/catch", "x"))


def test_check_datasets_and_selection():
    p = P.get_protocol("bsuite/catch")
    p.check_datasets(["rlu_bsuite/catch_noise0_run0:1.0.0", "rlu_bsuite/catch_expert_run2"])
    with pytest.raises(P.ProtocolViolation, match=r"\$\.datasets\[1\]: dataset "
                       "'rlu_bsuite/cartpole_noise0_run0' is not allowed"):
        p.check_datasets(["rlu_bsuite/catch_noise0_run0", "rlu_bsuite/cartpole_noise0_run0"])
    assert p.check_selection("final") == {"method": "final", "name": None}
    assert p.check_selection("offline", "sbv") == {"method": "offline", "name": "sbv"}
    for args, match in ((("best_on_eval",), r"\$\.selection\.method: .* not one of"),
                        (("offline",), r"\$\.selection\.name: .*needs the name"),
                        (("final", "sbv"), r"\$\.selection\.name: .*takes no name")):
        with pytest.raises(P.ProtocolViolation, match=match):
            p.check_selection(*args)


def test_check_run_names_the_run_task_and_the_protocol():
    from rl_unplugged.errors import IncompatibleError

    p = P.get_protocol("classic/acrobot")
    p.check_run("classic/acrobot", "rlu_classic/acrobot_noise0_run0")
    p.check_run("classic/acrobot", None)
    with pytest.raises(IncompatibleError) as info:
        p.check_run("bsuite/cartpole", "rlu_bsuite/cartpole_noise0_run0", source="run r1")
    message = str(info.value)
    assert "\n" not in message and message.startswith("run r1 was trained on bsuite/cartpole")
    assert "classic/acrobot" in message and "observation (1, 6) float32 vs (6,)" in message
    with pytest.raises(IncompatibleError, match="rlu_classic/cartpole_noise0_run0.*does not "
                       "allow"):
        p.check_run("classic/acrobot", "rlu_classic/cartpole_noise0_run0")
    with pytest.raises(IncompatibleError, match="unknown task 'x/y'.*classic/acrobot"):
        p.check_run("x/y")
    with pytest.raises(IncompatibleError, match=r"actions discrete \(2 actions\) vs "
                       r"discrete \(3 actions\)"):
        p.check_run("classic/cartpole")


def test_evaluator_and_validation_share_the_protocol_rules(monkeypatch):
    """One implementation: both callers go through the Protocol methods."""
    import numpy as np

    from rl_unplugged.evaluation import evaluator
    from rl_unplugged.leaderboard import validation
    from tests.leaderboard.conftest import make_small_protocols, make_submission

    calls = []
    for name in ("check_datasets", "check_selection", "check_returns"):
        original = getattr(P.Protocol, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(P.Protocol, name, spy)
    protocols = make_small_protocols()
    validation.validate(make_submission(protocols, track="bsuite/catch"), protocols=protocols)
    assert {"check_datasets", "check_selection", "check_returns"} <= set(calls)
    calls.clear()
    evaluator.evaluate(lambda o: np.zeros(len(o), np.int64), protocols["bsuite/catch"],
                       datasets=["rlu_bsuite/catch_random_run0"], num_envs=2)
    assert {"check_datasets", "check_selection", "check_returns"} <= set(calls)


def test_committed_protocol_docs_are_current(tmp_path):
    from pathlib import Path

    import rl_unplugged
    from rl_unplugged.evaluation import docs
    from rl_unplugged.leaderboard import docs as submission_docs

    repo = Path(rl_unplugged.__file__).parents[1] / "evaluation"
    written = docs.render_protocol_docs(tmp_path)
    written += submission_docs.render_submission_docs(tmp_path)
    assert any(p.name == "SUBMISSIONS.md" for p in written)
    for path in written:
        committed = repo / path.relative_to(tmp_path)
        assert committed.read_text() == path.read_text(), (
            f"{committed} is stale: run `rlu protocols render --out evaluation`")
    assert "| feasible return range | [-1, 1] " in (repo / "protocols" / "bsuite-catch.md"
                                                    ).read_text()


def test_measured_references_lie_inside_the_feasible_range():
    for p in P.all_protocols().values():
        lo, hi = p.feasible_return_range
        for kind, record in p.references.items():
            if record.get("value") is not None:
                assert lo <= record["value"] <= hi, (p.task_id, kind, record["value"])


def test_known_maximum_return_is_recorded_outside_the_hashes_and_checked():
    import math

    from rl_unplugged.evaluation import docs

    expected = {"classic/cartpole": 500.0, "bsuite/catch": 1.0, "bsuite/cartpole": 1000.0}
    frozen = P.all_protocols()
    derived = P.derive_protocols()
    for task_id, p in frozen.items():
        assert p.max_return == expected.get(task_id)
        assert p.content["max_return"] == p.max_return  # The frozen file records it.
        assert p.max_return == p.task.max_return
        if p.max_return is not None:
            assert p.max_return == p.feasible_return_range[1] and math.isfinite(p.max_return)
        assert derived[task_id].hash == p.hash
        # Outside both hashes: recording it moved no published hash.
        body = {k: v for k, v in p.content.items() if k not in P.UNHASHED}
        assert p.hash == P.content_hash(body)
    # A recorded value that disagrees with the registry's reward bounds refuses to load.
    bad = frozen["classic/cartpole"].content
    bad["max_return"] = 475.0
    with pytest.raises(ValueError, match="recorded max_return 475.0 disagrees"):
        P.Protocol(bad)
    text = docs._task_doc(frozen["classic/cartpole"])
    assert "| known maximum return | 500 (the environment's maximum" in text
    assert "none known" in docs._task_doc(frozen["classic/acrobot"])


def test_retired_v1_protocols_load_with_their_hashes_checked():
    v1 = P.retired_protocols(1)
    assert 1 in P.RETIRED_VERSIONS and P.PROTOCOL_VERSION not in P.RETIRED_VERSIONS
    # v1 predates the Atari and continuous tasks.
    assert set(v1) == {t.id for t in registry.tasks()
                       if t.domain in ("bsuite", "minatar", "classic")}
    for task_id, p in v1.items():
        assert p.version == 1 and p.task_id == task_id and p.num_episodes == 100
        assert p.hash == P.content_hash({k: v for k, v in p.content.items()
                                         if k not in P.UNHASHED})
        assert P.retired_protocol(p.hash) is p
    # The v1 epsilon stream was the environment's own: the text v2 replaced.
    assert v1["bsuite/catch"].content["evaluation"]["epsilon_rng"] != P.EPSILON_RNG
    assert P.retired_protocol("0" * 64) is None
    v1.clear()  # A copy: the cached set is untouched.
    assert P.retired_protocols(1)
    message = P.retired_message(P.retired_protocols(1)["bsuite/catch"])
    assert message.startswith("retired protocol v1 of bsuite/catch (")
    assert message.endswith(f"re-evaluate under v{P.PROTOCOL_VERSION} (see evaluation/"
                            "README.md, Migration)")


def test_a_tampered_or_mislabelled_retired_file_is_refused(tmp_path, monkeypatch):
    import json

    packaged = P.resources.files("rl_unplugged.evaluation").joinpath(
        "data", P.retired_file(1)).read_text()
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / P.retired_file(1)
    monkeypatch.setattr(P.resources, "files", lambda package: tmp_path)
    P._retired.cache_clear()
    try:
        doc = json.loads(packaged)
        doc["protocols"][0]["references"]["expert"]["value"] = 1e9
        target.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match="hash does not match its content"):
            P.retired_protocols(1)
        doc = json.loads(packaged)
        doc["protocol_version"] = 2
        target.write_text(json.dumps(doc))
        with pytest.raises(ValueError, match="protocols_v1.json: protocol 'bsuite/catch' is "
                           "v1 in a file of v2, not v1"):
            P.retired_protocols(1)
    finally:
        P._retired.cache_clear()  # Nothing tampered stays cached for other tests.


def test_an_unknown_retired_version_is_a_clear_error():
    from rl_unplugged.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match=r"^no retired protocol version 7; retired "
                       r"versions: v1$"):
        P.retired_protocols(7)
    current = P.PROTOCOL_VERSION
    with pytest.raises(UnknownNameError, match=f"v{current} is the current version"):
        P.retired_protocols(current)
    P.retired_protocols(1)  # Cached now: True must still be refused, not served v1.
    with pytest.raises(UnknownNameError, match="version True"):
        P.retired_protocols(True)  # bool is an int, and True == 1: not a version.


def test_v2_settings_differ_from_v1_only_where_the_migration_doc_says():
    """evaluation/README.md ("Migration from v1 to v2") lists what changed in the
    returns-deciding settings: the version and the epsilon stream, nothing else."""
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
        return out

    for task_id, old in P.retired_protocols(1).items():
        v1 = flat({k: v for k, v in old.content.items()
                   if k not in ("references", "hash", "settings_hash")})
        v2 = flat(P.settings(task_id))
        changed = {k for k in v1.keys() | v2.keys() if v1.get(k) != v2.get(k)}
        assert changed == {"version", "evaluation.epsilon_rng"}, (
            f"{task_id}: v2 also changes {sorted(changed)}; update the migration section of "
            "evaluation/README.md and this test")
        assert old.episode_seeds == P.episode_seeds(task_id)


def test_continuous_protocols_record_bounds_keys_and_the_mean_action():
    p = P.get_protocol("control/walker_walk")
    env = p.content["environment"]
    assert env["action"] == {"kind": "continuous", "shape": [6], "minimum": [-1.0] * 6,
                             "maximum": [1.0] * 6}
    assert env["observation_keys"] == [["orientations", [14]], ["height", []],
                                       ["velocity", [9]]]
    assert p.content["evaluation"]["policy"].startswith("the deterministic (mean) action")
    assert p.max_episode_steps == 1000 and p.num_episodes == 100
    # walker_walk's expert: its recorded D4PG behaviour-run candidate (mean action) beat
    # its long run's; the record is that whole measurement, dated when it was taken.
    walk = p.references["expert"]
    assert walk["status"] == "measured" and walk["num_episodes"] == 100
    assert walk["how"].startswith("best of two candidates: mean action of the behaviour run")
    assert walk["how"].endswith("as recorded on 2026-11-25, not re-measured")
    assert "(1000000 steps" in walk["candidates"][1]["how"]
    assert walk["value"] == max(c["value"] for c in walk["candidates"])
    assert walk["measured_at"].startswith("2026-11-25")
    # walker_stand's: its long run beside the behaviour run's candidate as recorded.
    stand = P.get_protocol("control/walker_stand").references["expert"]
    assert stand["how"].startswith("best of two") and "(600000 steps" in stand["how"]
    assert stand["candidates"][0]["how"].endswith("as recorded on 2026-11-25, not re-measured")
    assert stand["value"] == max(c["value"] for c in stand["candidates"])
    # fish_swim's: the better of two candidates, its long run's here.
    fish = P.get_protocol("control/fish_swim").references["expert"]
    assert fish["status"] == "measured" and fish["how"].startswith("best of two")
    assert len(fish["candidates"]) == 2 and "long run" in fish["how"]
    # Its behaviour candidate was measured on a rebuild, and says so (reference_builds.build_note).
    assert "; a rebuild, not the dataset's recorded build (sha256 a0e336da8f51f1b3)" in \
        fish["candidates"][0]["how"]
    # cheetah_run's: its finished 1M-step D4PG long run's, the better of two.
    cheetah_run = P.get_protocol("control/cheetah_run").references["expert"]
    assert cheetah_run["how"].startswith("best of two") and "(1000000 steps" in cheetah_run["how"]
    assert cheetah_run["value"] == max(c["value"] for c in cheetah_run["candidates"])
    # HalfCheetah's: its finished SAC long run's (10,000 uniform steps first).
    cheetah = P.get_protocol("mujoco/halfcheetah").references["expert"]
    assert cheetah["status"] == "measured" and cheetah["how"].startswith("best of two")
    assert "long run of the fallback SAC (random_steps=10000) (1000000 steps" in cheetah["how"]
    assert "not finished" not in cheetah["how"]
    assert cheetah["value"] == max(c["value"] for c in cheetah["candidates"])
    # Hopper's: the better of two, here its behaviour candidate, a rebuild (labelled so),
    # above the finished 1M-step D4PG long run's best.
    hopper = P.get_protocol("mujoco/hopper").references["expert"]
    assert hopper["how"].startswith("best of two") and len(hopper["candidates"]) == 2
    behaviour, long_run = hopper["candidates"]
    assert "; a rebuild, not the dataset's recorded build (sha256 7015a121dcce614d)" in \
        behaviour["how"] and "(1000000 steps" in long_run["how"]
    assert hopper["value"] == behaviour["value"] > long_run["value"]
    # Discrete protocols carry none of it: adding the continuous tasks left their hashes
    # as frozen (bsuite/catch's v2 hash pinned).
    catch = P.get_protocol("bsuite/catch")
    assert "action" not in catch.content["environment"]
    assert "policy" not in catch.content["evaluation"]
    assert catch.hash == "5ce66e550b799789686fd9ce74dadd04e3d3dfb6c5737eaebf95a240a811cd17"

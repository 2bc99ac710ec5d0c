"""Validation of untrusted submissions: each rule refuses with the field's JSON path."""

import copy
import json

import pytest

from rl_unplugged.leaderboard import submission_schema as schema_lib
from rl_unplugged.leaderboard import validation as V
from tests.leaderboard.conftest import make_submission

CATCH = '$.results["bsuite/catch"]'


@pytest.fixture
def sub(small_protocols):
    return make_submission(small_protocols)


def _check(sub, protocols, path, match, **kwargs):
    with pytest.raises(V.SubmissionError, match=match) as info:
        V.validate(sub, protocols=protocols, **kwargs)
    assert info.value.path == path, str(info.value)


def test_valid_submissions_pass(sub, small_protocols):
    assert V.validate(copy.deepcopy(sub), protocols=small_protocols) == sub
    allsub = make_submission(small_protocols, track="all", selection="offline",
                             selection_name="sbv")
    V.validate(allsub, protocols=small_protocols)
    V.validate_bytes(json.dumps(sub).encode(), protocols=small_protocols)


def test_published_schema_is_valid_and_shipped():
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(schema_lib.schema())
    assert schema_lib.schema()["properties"]["schema_version"]["const"] == 1


def test_wrong_types_name_the_field(sub, small_protocols):
    sub["name"] = 3
    _check(sub, small_protocols, "$.name", "not of type 'string'")


def test_run_return_type(sub, small_protocols):
    sub["results"]["bsuite/catch"]["runs"][1]["returns"][2] = "1.0"
    _check(sub, small_protocols, f"{CATCH}.runs[1].returns[2]", "not of type 'number'")


def test_unknown_and_mismatched_protocol_hashes(sub, small_protocols):
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["protocol_hash"] = "0" * 64
    _check(s, small_protocols, f"{CATCH}.protocol_hash", "unknown protocol hash")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["protocol_hash"] = small_protocols["bsuite/cartpole"].hash
    _check(s, small_protocols, f"{CATCH}.protocol_hash", "protocol of 'bsuite/cartpole'")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["protocol_version"] = (
        small_protocols["bsuite/catch"].version + 1)  # Whatever the current version is.
    _check(s, small_protocols, f"{CATCH}.protocol_version", "version")


def test_missing_task_and_foreign_task(sub, small_protocols):
    s = copy.deepcopy(sub)
    del s["results"]["bsuite/mountain_car"]
    _check(s, small_protocols, "$.results", "missing task 'bsuite/mountain_car'")
    s = copy.deepcopy(sub)
    s["results"]["classic/cartpole"] = s["results"]["bsuite/catch"]
    _check(s, small_protocols, '$.results["classic/cartpole"]', "not part of track")


def test_missing_seeds_and_too_few_episodes(sub, small_protocols):
    s = copy.deepcopy(sub)
    run = s["results"]["bsuite/catch"]["runs"][0]
    run["episode_seeds"].pop()
    run["returns"].pop()
    _check(s, small_protocols, f"{CATCH}.runs[0].episode_seeds", "too few episodes: 3 < 4")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"][0]["episode_seeds"][2] += 1
    _check(s, small_protocols, f"{CATCH}.runs[0].episode_seeds[2]", "protocol order")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"][2]["returns"].pop()
    _check(s, small_protocols, f"{CATCH}.runs[2].returns", "3 returns for 4")


def test_runs_rules(sub, small_protocols):
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"].pop()
    _check(s, small_protocols, f"{CATCH}.runs", "at least 3")
    s = copy.deepcopy(sub)
    runs = s["results"]["bsuite/cartpole"]["runs"]
    runs.append({**copy.deepcopy(runs[0]), "seed": 9})
    _check(s, small_protocols, '$.results["bsuite/cartpole"].runs', "same number of runs")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"][1]["seed"] = 0
    _check(s, small_protocols, f"{CATCH}.runs[1].seed", "duplicate run seed")


def test_non_finite_numbers(sub, small_protocols):
    for text in ("NaN", "Infinity", "-Infinity", "1e999"):
        s = copy.deepcopy(sub)
        s["results"]["bsuite/catch"]["runs"][0]["returns"][1] = "@@"
        data = json.dumps(s).replace('"@@"', text).encode()
        with pytest.raises(V.SubmissionError, match="not a finite number") as info:
            V.validate_bytes(data, protocols=small_protocols)
        assert info.value.path == f"{CATCH}.runs[0].returns[1]"


def test_duplicate_names_and_keys(sub, small_protocols):
    _check(sub, small_protocols, "$.name", "duplicate entry name",
           existing_names=["  entry   a "])
    data = json.dumps(sub)[:-1] + ', "name": "B"}'
    with pytest.raises(V.SubmissionError, match="duplicate key"):
        V.validate_bytes(data.encode(), protocols=small_protocols)


def test_size_and_string_limits(sub, small_protocols, write_json):
    s = copy.deepcopy(sub)
    s["description"] = "x" * 2001
    _check(s, small_protocols, "$.description", "too long")
    s = copy.deepcopy(sub)
    s["name"] = "bad\nname"
    _check(s, small_protocols, "$.name", "control characters")
    s = copy.deepcopy(sub)
    s["description"] = "x" * (schema_lib.MAX_FILE_BYTES + 1)
    with pytest.raises(V.SubmissionError, match="limit is") as info:
        V.validate_file(write_json(s), protocols=small_protocols)
    assert info.value.path == "$"


def test_selection_and_datasets(sub, small_protocols):
    s = copy.deepcopy(sub)
    s["selection"] = {"method": "offline"}
    _check(s, small_protocols, "$.selection.name", "needs the name")
    s = copy.deepcopy(sub)
    s["selection"] = {"method": "best_on_eval"}
    _check(s, small_protocols, "$.selection.method", "is not one of")
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["datasets"] = ["rlu_minatar/breakout_noise0_run0"]
    _check(s, small_protocols, f"{CATCH}.datasets[0]", "not allowed")


def test_not_json_not_utf8_too_deep(small_protocols):
    for data, match in ((b"{", "invalid JSON"), (b"\xff\xfe", "UTF-8"),
                        (b"[" * 100_000 + b"]" * 100_000, "deep"),
                        (b"[" * 100 + b"]" * 100, "nested too deeply"),
                        (b"[]", "not of type 'object'")):
        with pytest.raises(V.SubmissionError, match=match):
            V.validate_bytes(data, protocols=small_protocols)


def test_default_protocols_are_the_frozen_ones(sub):
    with pytest.raises(V.SubmissionError, match="unknown protocol hash"):
        V.validate(sub)


def test_integer_limits(sub, small_protocols):
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"][0]["returns"][0] = 10**400
    _check(s, small_protocols, f"{CATCH}.runs[0].returns[0]", "too large")
    data = json.dumps(sub).replace('"seed": 0', '"seed": ' + "9" * 5000).encode()
    with pytest.raises(V.SubmissionError, match="invalid JSON"):
        V.validate_bytes(data, protocols=small_protocols)


def test_returns_outside_the_feasible_range_or_too_many(sub, small_protocols):
    s = copy.deepcopy(sub)
    s["results"]["bsuite/catch"]["runs"][0]["returns"][3] = 1e308
    _check(s, small_protocols, f"{CATCH}.runs[0].returns[3]",
           r"1e\+308 is outside the feasible range \[-1, 1\] of bsuite/catch")
    for value in (-1.5, -1.0000000000000002, 1.0000000000000002):
        s = copy.deepcopy(sub)
        s["results"]["bsuite/catch"]["runs"][1]["returns"][0] = value
        _check(s, small_protocols, f"{CATCH}.runs[1].returns[0]", "outside the feasible")
    s = copy.deepcopy(sub)  # mountain_car pays -1 a step: a positive return is impossible.
    s["results"]["bsuite/mountain_car"]["runs"][2]["returns"][1] = 5e-324
    _check(s, small_protocols, '$.results["bsuite/mountain_car"].runs[2].returns[1]',
           r"outside the feasible range \[-1000, -1\]")
    s = copy.deepcopy(sub)  # More returns than the protocol has episodes.
    s["results"]["bsuite/catch"]["runs"][0]["returns"].append(0.0)
    _check(s, small_protocols, f"{CATCH}.runs[0].returns", "5 returns for 4")


def test_bidi_overrides_are_refused_naming_the_field(sub, small_protocols):
    for field, text in (("name", "Best \u202eredael"), ("authors", "A \u2067B\u2069"),
                        ("description", "fine\nthen \u202a"), ("authors", "C1 \x85")):
        s = copy.deepcopy(sub)
        s[field] = text
        _check(s, small_protocols, f"$.{field}", "bidirectional")
    s = copy.deepcopy(sub)
    s["selection"] = {"method": "offline", "name": "sbv\u2066"}
    _check(s, small_protocols, "$.selection.name", "bidirectional")


def test_committed_submissions_still_validate():
    """Current entries under the current protocols; each retired version's entries
    (`submissions/v{N}/`) under that version's frozen protocols."""
    from pathlib import Path

    import rl_unplugged
    from rl_unplugged.evaluation import protocols as P
    from rl_unplugged.leaderboard import board

    root = Path(rl_unplugged.__file__).parents[1] / "evaluation"
    current = sorted((root / "submissions").glob("*.json"))
    assert len(board.load_submissions(root)) == len(current)
    retired = [path for v in P.RETIRED_VERSIONS
               for path, _ in board.load_retired_submissions(root, v)]
    assert retired  # The v1 baselines stay visible.
    assert len(retired) == len(list((root / "submissions").glob("v*/*.json")))

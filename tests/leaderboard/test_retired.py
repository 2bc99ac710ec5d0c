"""Retired protocol versions on the board: shown apart, never aggregated, refused on submit.

The "current" protocols here are the small test protocols (v2, their own references), so
nothing depends on the content of the shipped current `protocols.json`.
"""

import json
import re

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import protocols as P
from rl_unplugged.leaderboard import board
from rl_unplugged.leaderboard.validation import SubmissionError
from tests.leaderboard.conftest import NUM_EPISODES, feasible, make_submission

RETIRED = (r"retired protocol v1 of bsuite/catch \([0-9a-f]{12}\); re-evaluate under "
           rf"v{P.PROTOCOL_VERSION} \(see evaluation/README.md, Migration\)")


def _fake_v1(current):
    """v1-labelled protocols with other references: random at x = 0, expert at x = 5 of
    the conftest's [0, 20] return scale (so a return at x scores x / 5)."""
    out = {}
    for t in registry.tasks():
        settings = {**P.settings(t, num_episodes=NUM_EPISODES), "version": 1}
        out[t.id] = P.make_protocol(settings, {
            "random": {"value": feasible(current[t.id], 0.0)},
            "expert": {"value": feasible(current[t.id], 5.0), "how": "a weak v1 checkpoint"}})
    return out


def _write(folder, sub, name):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(board.dumps(sub))


def test_retired_entries_are_shown_apart_and_never_aggregated(tmp_path, small_protocols):
    v1 = _fake_v1(small_protocols)
    root = tmp_path / "board"
    # The re-evaluated entry keeps its name: names are unique per version, not across.
    _write(root / "submissions", make_submission(small_protocols, name="DQN", offset=0.0),
           "dqn-v2.json")
    _write(root / "submissions" / "v1", make_submission(v1, name="DQN", offset=10.0),
           "dqn.json")
    _write(root / "submissions" / "v1", make_submission(v1, name="Old only", track="classic",
                                                        offset=0.0), "old.json")
    built = board.build_board(root, protocols=small_protocols, retired={1: v1}, reps=50,
                              plots=False)
    assert list(built["entries"]) == ["DQN"]
    assert [t["entries"] for t in built["tracks"]] == [["DQN"]]  # bsuite only.
    assert list(built["tracks"][0]["estimates"]) == ["DQN"]
    (section,) = built["retired"]
    assert section["version"] == 1 and list(section["entries"]) == ["DQN", "Old only"]
    old = section["entries"]["DQN"]
    assert old["file"] == "v1/dqn.json" and old["anchor"] == "retired-v1-entry-0"
    # catch (task 0) returns at x = 10 + run + episode: mean x 12.5 over 3 runs x 4
    # episodes, normalised 12.5 / 5 under the v1 references; flagged with its v1 reference.
    catch = old["tasks"]["bsuite/catch"]
    assert catch["protocol_version"] == 1 and catch["runs"] == 3
    assert catch["mean_return"] == pytest.approx(feasible(v1["bsuite/catch"], 12.5))
    assert catch["normalised_mean"] == pytest.approx(2.5)
    assert "normalised 2.5 > 1.2" in catch["flag"] and "(a weak v1 checkpoint)" in catch["flag"]
    # The current entry is scored under the current references (raw returns 0 and 10).
    assert built["entries"]["DQN"]["tasks"]["bsuite/catch"]["normalised_mean"] == (
        pytest.approx(feasible(small_protocols["bsuite/catch"], 2.5) / 10))

    md = (root / "LEADERBOARD.md").read_text()
    head, retired = md.split("## Retired: protocol v1")
    assert "Old only" not in head and "(a weak v1" not in head
    assert "re-evaluate it under the current protocols" in retired
    assert "MinAtar resets leaked" in retired and "had not converged" in retired
    assert "### DQN (protocol v1)" in retired and "| bsuite/catch | v1 `" in retired
    assert "| 2.5 (flagged) |" in retired
    assert "([protocol](../rl_unplugged/evaluation/data/protocols_v1.json))" in retired
    assert "[migration](README.md#migration-from-v1-to-v2)" in retired
    page = (root / "leaderboard.html").read_text()
    head, retired = page.split('<h2 id="retired-v1">Retired: protocol v1</h2>')
    assert "Old only" not in head and 'id="retired-v1-entry-1"' in retired
    assert retired.count("<strong>Flag</strong>") == 3


def test_without_retired_entries_the_board_has_no_retired_section(tmp_path, small_protocols):
    root = tmp_path / "board"
    _write(root / "submissions", make_submission(small_protocols, name="A"), "a.json")
    (root / "submissions" / "v1").mkdir()  # Empty: nothing to show.
    built = board.build_board(root, protocols=small_protocols, reps=20, plots=False)
    assert built["retired"] == []
    assert "Retired" not in (root / "LEADERBOARD.md").read_text()


def _real_v1_catch_submission(name="Made under v1"):
    v1 = P.retired_protocols(1)
    runs = {"bsuite/catch": [[0.0] * v1["bsuite/catch"].num_episodes] * 3}
    return board.submission_template(v1, "bsuite/catch", name, runs)


def test_a_v1_submission_is_refused_by_the_current_board(tmp_path, write_json,
                                                         small_protocols):
    path = write_json(_real_v1_catch_submission())
    root = tmp_path / "board"
    with pytest.raises(SubmissionError, match=RETIRED) as info:
        board.submit(path, root, protocols=small_protocols)
    assert info.value.path == '$.results["bsuite/catch"].protocol_hash'
    assert not (root / "submissions").exists()
    # Dropped into submissions/ by hand, it stops the build, naming the file.
    _write(root / "submissions", _real_v1_catch_submission(), "by-hand.json")
    with pytest.raises(SubmissionError, match="by-hand.json.*" + RETIRED):
        board.build_board(root, protocols=small_protocols, reps=20, plots=False)
    # Under submissions/v1/ it is a retired entry, validated against the real v1 file.
    (root / "submissions" / "v1").mkdir()
    (root / "submissions" / "by-hand.json").rename(root / "submissions" / "v1" / "by-hand.json")
    built = board.build_board(root, protocols=small_protocols, reps=20, plots=False)
    assert list(built["retired"][0]["entries"]) == ["Made under v1"]
    assert built["entries"] == {} and built["tracks"] == []
    assert "No submissions under the current protocols (v2) yet" in (
        root / "LEADERBOARD.md").read_text()


def test_rlu_leaderboard_submit_names_the_retired_version(tmp_path, write_json, monkeypatch,
                                                          capsys, small_protocols):
    from rl_unplugged.cli import main

    monkeypatch.setattr(P, "all_protocols", lambda: dict(small_protocols))
    path = write_json(_real_v1_catch_submission())
    root = tmp_path / "board"
    assert main(["leaderboard", "submit", str(path), "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown protocol hash" not in err
    assert err.startswith('rlu: error: $.results["bsuite/catch"].protocol_hash: ')
    assert re.search(RETIRED + "$", err)


def test_a_current_file_under_the_v1_folder_is_refused_naming_the_version(
        tmp_path, small_protocols):
    root = tmp_path / "board"
    _write(root / "submissions" / "v1", make_submission(small_protocols, name="New"),
           "misplaced.json")
    with pytest.raises(SubmissionError, match=r"misplaced.json: .*unknown protocol hash.*"
                       r"\(files under submissions/v1/ are checked against the retired v1 "
                       r"protocols\)"):
        board.build_board(root, protocols=small_protocols,
                          retired={1: _fake_v1(small_protocols)}, reps=20, plots=False)


def test_committed_v1_entries_keep_their_recorded_scores():
    """The committed baselines under evaluation/submissions/v1/ validate against the
    shipped v1 file, and their v1 normalised scores are what the v1 board showed."""
    from pathlib import Path

    import rl_unplugged

    root = Path(rl_unplugged.__file__).parents[1] / "evaluation"
    subs = board.load_retired_submissions(root, 1)
    assert len(subs) == 8
    by_name = {s["name"]: s for _, s in subs}
    bc = by_name["BC (bsuite noise0 baseline)"]["results"]["bsuite/cartpole"]
    means = [np.mean(r["returns"]) for r in bc["runs"]]
    refs = P.retired_protocols(1)["bsuite/cartpole"].references
    score = (np.mean(means) - refs["random"]["value"]) / (
        refs["expert"]["value"] - refs["random"]["value"])
    assert score == pytest.approx(3.452, abs=5e-4)  # The flagged 3.45 of issue 8.
    assert json.loads(Path(root / "submissions" / "v1" / subs[0][0].name).read_text())


def test_make_submission_from_v1_results_names_the_retired_version(monkeypatch,
                                                                    small_protocols):
    from rl_unplugged.errors import IncompatibleError
    from rl_unplugged.evaluation import evaluator

    monkeypatch.setattr(P, "all_protocols", lambda: dict(small_protocols))
    monkeypatch.setattr(P, "get_protocol", lambda task_id: small_protocols[task_id])
    old = P.retired_protocols(1)["bsuite/catch"]
    records = [{"format": evaluator.RESULT_FORMAT, "task": "bsuite/catch",
                "protocol": {"hash": old.hash, "settings_hash": old.settings_hash},
                "episode_seeds": old.episode_seeds, "returns": [1.0] * old.num_episodes,
                "selection": {"method": "final", "name": None}} for _ in range(3)]
    with pytest.raises(IncompatibleError, match="a bsuite/catch result was evaluated under "
                       + RETIRED):
        board.submission_from_results(records, track="bsuite/catch", name="Old results")

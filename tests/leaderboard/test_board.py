"""submit + build: files written, hostile strings escaped, pending references honoured."""

import json

import pytest

from rl_unplugged.leaderboard import board, render
from rl_unplugged.leaderboard.validation import SubmissionError
from tests.leaderboard.conftest import make_small_protocols, make_submission

EVIL = '<script>alert(1)</script> | `x` [a](javascript:1) $\\frac$ & "q"'


def _submit_all(tmp_path, write_json, protocols, subs):
    root = tmp_path / "board"
    for i, sub in enumerate(subs):
        board.submit(write_json(sub, f"in{i}.json"), root, protocols=protocols)
    return root


def test_submit_and_build(tmp_path, write_json, small_protocols):
    subs = [make_submission(small_protocols, name=EVIL, offset=2.0, authors=EVIL,
                            description=EVIL),
            make_submission(small_protocols, name="Plain", offset=0.0),
            make_submission(small_protocols, name="Everything", track="all", offset=1.0,
                            selection="offline", selection_name=EVIL)]
    root = _submit_all(tmp_path, write_json, small_protocols, subs)
    assert len(list((root / "submissions").glob("*.json"))) == 3
    built = board.build_board(root, protocols=small_protocols, reps=100)
    assert [t["track"] for t in built["tracks"]] == ["all", "bsuite", "minatar", "classic",
                                                     "control", "mujoco"]
    assert [t["title"] for t in built["tracks"]] == ["all tasks", "bsuite", "MinAtar",
                                                     "classic control", "DM Control Suite",
                                                     "MuJoCo (gymnasium)"]
    bsuite = built["tracks"][1]
    assert set(bsuite["entries"]) == {EVIL, "Plain", "Everything"}
    # Offsets 2 > 1 > 0 in return, same spread: the IQM ranks them that way.
    assert bsuite["entries"] == [EVIL, "Everything", "Plain"]
    # Per task, run means are {2, 3, 4} + c vs {0, 1, 2} + c: 8 wins and a tie in 9 pairs.
    assert bsuite["improvement"][(EVIL, "Plain")][0] == pytest.approx(8.5 / 9)
    for name in ("all-aggregates.png", "bsuite-profiles.png", "bsuite-aggregates.png"):
        assert (root / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (root / "leaderboard.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1 and "cdn" not in page.lower()
    assert 'href="#entry-0"' in page and 'id="entry-0"' in page
    md = (root / "LEADERBOARD.md").read_text()
    assert "<script>" not in md and r"\<script\>" in md
    assert r"\| \`x\` \[a\](javascript:1)" in md
    # The probability-of-improvement table is in the markdown board too (as in the page).
    assert "Probability of improvement P(row > column)" in md
    assert render.fmt_ci(bsuite['improvement'][(EVIL, 'Plain')]) in md.split("P(row > column)")[1]
    assert json.loads((root / "schemas" / "submission-v1.json").read_text())["$schema"]


def test_duplicate_name_and_file_are_refused(tmp_path, write_json, small_protocols):
    sub = make_submission(small_protocols, name="A")
    root = _submit_all(tmp_path, write_json, small_protocols, [sub])
    with pytest.raises(SubmissionError, match="duplicate entry name"):
        board.submit(write_json({**sub, "name": " a "}, "dup.json"), root,
                     protocols=small_protocols)


def test_build_refuses_an_invalid_file_naming_it(tmp_path, write_json, small_protocols):
    root = _submit_all(tmp_path, write_json, small_protocols,
                       [make_submission(small_protocols, name="A")])
    (root / "submissions" / "zz-bad.json").write_text('{"name": 1}')
    with pytest.raises(ValueError, match="zz-bad.json"):
        board.build_board(root, protocols=small_protocols, reps=50)


def test_pending_reference_gives_raw_board_without_aggregates(tmp_path, write_json):
    protocols = make_small_protocols(expert=None)
    root = _submit_all(tmp_path, write_json, protocols,
                       [make_submission(protocols, name="A")])
    built = board.build_board(root, protocols=protocols, reps=50)
    track = built["tracks"][0]
    assert track["estimates"] == {} and "expert reference" in track["pending"]
    assert not (root / "plots").exists()
    assert "pending" in (root / "LEADERBOARD.md").read_text()
    assert built["entries"]["A"]["tasks"]["bsuite/catch"]["normalised_mean"] is None


def test_md_escape_and_plot_labels():
    assert render.md_escape("a|b\nc") == r"a\|b c"
    assert render.md_escape("<b>") == r"\<b\>"
    assert render.plot_label("$x$") == r"\$x\$"


def _record(task_id, returns, selection=("final", None)):
    from rl_unplugged.evaluation import protocols as P
    p = P.get_protocol(task_id)
    return {"format": "rl_unplugged evaluation result", "task": task_id,
            "protocol": {"hash": p.hash, "settings_hash": p.settings_hash},
            "episode_seeds": p.episode_seeds, "returns": returns,
            "selection": {"method": selection[0], "name": selection[1]}}


def test_submission_from_evaluator_records_validates():
    from rl_unplugged.leaderboard.validation import validate
    tasks = ["classic/cartpole", "classic/acrobot", "classic/mountaincar"]
    lowest = {"classic/cartpole": 1.0, "classic/acrobot": -500.0, "classic/mountaincar": -200.0}
    records = [_record(t, [lowest[t] + k] * 100, ("offline", "sbv")) for t in tasks
               for k in range(3)]
    sub = board.submission_from_results(records, track="classic", name="From records")
    assert validate(sub) == sub
    assert sub["selection"] == {"method": "offline", "name": "sbv"}
    assert [r["returns"][0] for r in sub["results"]["classic/acrobot"]["runs"]] == [-500, -499,
                                                                                   -498]
    records[0]["selection"] = {"method": "final", "name": None}
    with pytest.raises(ValueError, match="mix selection"):
        board.submission_from_results(records, track="classic", name="x")
    records[0]["protocol"]["hash"] = "0" * 64
    with pytest.raises(ValueError, match="not the current"):
        board.submission_from_results(records, track="classic", name="x")


def test_grid_members_sharing_a_seed_are_not_independent_runs():
    from rl_unplugged.baselines import independent_members
    from rl_unplugged.errors import ConfigError
    from rl_unplugged.leaderboard.validation import validate
    tasks = ["classic/cartpole", "classic/acrobot", "classic/mountaincar"]
    lowest = {"classic/cartpole": 1.0, "classic/acrobot": -500.0, "classic/mountaincar": -200.0}
    records = [_record(t, [lowest[t] + k] * 100) for t in tasks for k in range(3)]
    sub = board.submission_from_results(records, track="classic", name="Seeds 4, 7, 9",
                                        run_seeds=[4, 7, 9] * 3)
    assert validate(sub) == sub
    assert [r["seed"] for r in sub["results"]["classic/acrobot"]["runs"]] == [4, 7, 9]
    # Two grid points of seed 0 and one of seed 1: three results, two independent runs.
    with pytest.raises(ConfigError, match="share training seed 0"):
        board.submission_from_results(records, track="classic", name="x",
                                      run_seeds=[0, 0, 1] * 3)
    with pytest.raises(ConfigError, match="one int per result"):
        board.submission_from_results(records, track="classic", name="x", run_seeds=[0, 1])
    # The baselines put only distinct-seed members of one grid point in one entry.
    assert independent_members([{"member": 0, "seed": 3, "grid": {}},
                                {"member": 1, "seed": 5, "grid": {}}]) == [(0, 3), (1, 5)]
    grid = [{"member": i, "seed": 0, "grid": {"alpha": a}} for i, a in enumerate((0.1, 1.0))]
    with pytest.raises(ConfigError, match="one grid point"):
        independent_members(grid)
    with pytest.raises(ConfigError, match="distinct seeds"):
        independent_members([{"member": i, "seed": 0, "grid": {}} for i in range(2)])


def test_a_task_score_above_1_2_is_flagged_with_its_reference(tmp_path, write_json):
    from rl_unplugged import registry
    from rl_unplugged.evaluation import protocols as P
    from tests.leaderboard.conftest import NUM_EPISODES, feasible, make_small_protocols
    # References at x = 0 (random) and x = 5 (expert) of the [0, 20] scale the entries'
    # returns are mapped from: the offset-10 entry scores >= 2 on every bsuite task
    # (flagged), the offset-0 entry 0.5 to 0.7.
    small = make_small_protocols()
    protocols = {t.id: P.make_protocol(P.settings(t, num_episodes=NUM_EPISODES), {
        "random": {"value": feasible(small[t.id], 0.0)},
        "expert": {"value": feasible(small[t.id], 5.0), "how": "a weak checkpoint"}})
        for t in registry.tasks()}
    cartpole = protocols["bsuite/cartpole"]
    assert board.reference_flag("bsuite/cartpole", 1.2, 6.0, cartpole) == ""
    assert board.reference_flag("bsuite/cartpole", None, 6.0, cartpole) == ""
    flag = board.reference_flag("bsuite/cartpole", 1.21, 6.0, cartpole)
    assert "normalised 1.21 > 1.2" in flag and "expert reference of 250 (a weak" in flag
    assert "maximum is 1000" in flag  # bsuite cartpole's known maximum.
    subs = [make_submission(protocols, name="Weak", offset=0.0),
            make_submission(protocols, name="Beats the expert", offset=10.0)]
    root = _submit_all(tmp_path, write_json, protocols, subs)
    built = board.build_board(root, protocols=protocols, reps=50, plots=False)
    strong = built["entries"]["Beats the expert"]["tasks"]
    weak = built["entries"]["Weak"]["tasks"]
    assert all(strong[t]["flag"] for t in strong) and not any(weak[t]["flag"] for t in weak)
    md = (root / "LEADERBOARD.md").read_text()
    assert md.count("(flagged) |") == 3
    assert "- **Flag** bsuite/cartpole:" in md and "(protocols/bsuite-cartpole.md)" in md
    page = (root / "leaderboard.html").read_text()
    assert page.count("<strong>Flag</strong>") == 3
    assert 'href="protocols/bsuite-catch.md"' in page


def test_single_task_track(tmp_path, write_json, small_protocols):
    subs = [make_submission(small_protocols, name=f"Catch only {i}", track="bsuite/catch",
                            offset=float(i)) for i in range(2)]
    root = _submit_all(tmp_path, write_json, small_protocols, subs)
    built = board.build_board(root, protocols=small_protocols, reps=50)
    assert [t["track"] for t in built["tracks"]] == ["bsuite/catch"]
    assert built["tracks"][0]["entries"] == ["Catch only 1", "Catch only 0"]
    assert (root / "plots" / "bsuite-catch-aggregates.png").exists()


def test_published_schema_lists_exactly_the_tracks():
    from rl_unplugged.leaderboard import submission_schema

    enum = submission_schema.schema()["properties"]["track"]["enum"]
    assert tuple(enum) == submission_schema.TRACKS

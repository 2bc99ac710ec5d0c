"""`rlu leaderboard make-submission|validate|build` and the committed board's docs."""

import json
from pathlib import Path

from rl_unplugged.cli import main
from rl_unplugged.evaluation import protocols
from rl_unplugged.leaderboard import board

TASK = "bsuite/catch"  # Ten-step episodes: three real evaluations take a second.


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("rlu: error: ") and len(err.splitlines()) == 1, err
    return err


def _evaluate(tmp_path, capsys, runs=3):
    dataset = protocols.get_protocol(TASK).datasets[0]
    paths = []
    for r in range(runs):
        out = tmp_path / f"catch-seed{r}.json"
        assert main(["evaluate", "--task", TASK, "--policy",
                     f"tests.cli.test_evaluation_cli:{'push_left' if r else 'stay'}",
                     "--dataset", f"{dataset}:1.0.0", "--out", str(out)]) == 0
        paths.append(out)
    capsys.readouterr()
    return paths


def test_make_submission_from_evaluate_results(tmp_path, capsys):
    results = _evaluate(tmp_path, capsys)
    out = tmp_path / "sub.json"
    assert main(["leaderboard", "make-submission", *map(str, results), "--name", "Mine",
                 "--track", TASK, "--authors", "A. Person", "--description", "it's mine",
                 "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    sub = json.loads(out.read_text())
    records = [json.loads(p.read_text()) for p in results]
    assert sub["name"] == "Mine" and sub["track"] == TASK and sub["authors"] == "A. Person"
    res = sub["results"][TASK]
    assert [run["returns"] for run in res["runs"]] == [r["returns"] for r in records]
    assert res["datasets"] == [f"{protocols.get_protocol(TASK).datasets[0]}:1.0.0"]
    assert main(["leaderboard", "validate", str(out)]) == 0
    root = tmp_path / "board"
    assert main(["leaderboard", "submit", str(out), "--root", str(root)]) == 0
    assert main(["leaderboard", "build", "--root", str(root), "--reps", "20"]) == 0
    md = (root / "LEADERBOARD.md").read_text()
    assert "it's mine" in md and "&#x27;" not in md  # Markdown is not HTML-escaped.
    assert "it&#x27;s mine" in (root / "leaderboard.html").read_text()  # HTML is.


def test_make_submission_refuses_incomplete_or_mismatched_results(tmp_path, capsys):
    results = _evaluate(tmp_path, capsys)
    out = tmp_path / "sub.json"
    base = ["leaderboard", "make-submission", "--name", "Mine", "--out", str(out)]
    assert main([*base, *map(str, results[:2]), "--track", TASK]) == 2
    assert "2 runs; at least 3 are needed" in _one_line_error(capsys)
    assert main([*base, *map(str, results), "--track", "bsuite"]) == 2
    assert "missing bsuite/cartpole, bsuite/mountain_car" in _one_line_error(capsys)
    assert main([*base, *map(str, results), "--track", "classic/cartpole"]) == 2
    assert "results for bsuite/catch are not part of track" in _one_line_error(capsys)
    assert main([*base, str(tmp_path / "none.json"), "--track", TASK]) == 2
    assert "none.json: no such results file" in _one_line_error(capsys)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    assert main([*base, str(other), "--track", TASK]) == 2
    assert "not an evaluation result" in _one_line_error(capsys)
    assert not out.exists()


def test_validate_says_an_evaluation_result_is_not_a_submission(tmp_path, capsys):
    result = _evaluate(tmp_path, capsys, runs=1)[0]
    for command in (["validate", str(result)],
                    ["submit", str(result), "--root", str(tmp_path / "b")]):
        assert main(["leaderboard", *command]) == 2
        err = _one_line_error(capsys)
        assert "this is an evaluation result, not a submission" in err
        assert "rlu leaderboard make-submission" in err


def test_build_refuses_a_missing_root(tmp_path, capsys):
    missing = tmp_path / "nonexistent"
    assert main(["leaderboard", "build", "--root", str(missing)]) == 2
    assert f"{missing / board.SUBMISSIONS}: no such directory" in _one_line_error(capsys)
    assert not missing.exists()


def test_evaluation_readme_states_the_references_as_recorded():
    refs = json.loads((Path(protocols.__file__).parent / "data" /
                       protocols.REFERENCES_FILE).read_text())["tasks"]
    readme = (Path(__file__).parents[2] / "evaluation" / "README.md").read_text()
    if all(r["expert"].get("status") == "measured" for r in refs.values()):
        assert "pending until" not in readme
        assert "Both references are\nmeasured for every task" in readme


def test_make_submission_refuses_grid_members_of_one_seed(tmp_path, capsys):
    """Members of one seed share its initialisation and minibatches: `rlu evaluate
    --run-dir` records the member's training seed, and make-submission refuses to count
    grid points of one seed as independent runs (distinct seeds of one point pass)."""
    from tests.cli.test_train_cli import SPEC, write_random_log

    write_random_log(tmp_path / "data")
    run = tmp_path / "run"
    assert main(["train", "dqn", "--dataset", SPEC.name, "--data-dir", str(tmp_path / "data"),
                 "--steps", "4", "--seeds", "3", "--grid", "learning_rate=0.001,0.0003",
                 "--set", "hidden=8", "--set", "batch_size=4", "--log-every", "2",
                 "--probe-every", "0", "--out", str(run), "--no-progress"]) == 0
    results = {}
    for member in range(6):  # Seed-major: (seed 0: lr a, b), (seed 1: a, b), (seed 2: a, b).
        results[member] = tmp_path / f"m{member}.json"
        assert main(["evaluate", "--task", TASK, "--run-dir", str(run), "--member",
                     str(member), "--out", str(results[member])]) == 0
    record = json.loads(results[3].read_text())
    assert record["training_run"]["seed"] == 1
    assert record["training_run"]["grid"] == {"learning_rate": 0.0003}
    capsys.readouterr()
    out = tmp_path / "sub.json"
    base = ["leaderboard", "make-submission", "--name", "Mine", "--track", TASK,
            "--out", str(out)]
    assert main([*base, *(str(results[m]) for m in (0, 1, 2))]) == 2
    assert "share training seed 0" in _one_line_error(capsys)
    assert not out.exists()
    assert main([*base, *(str(results[m]) for m in (1, 3, 5))]) == 0
    sub = json.loads(out.read_text())
    assert [r["seed"] for r in sub["results"][TASK]["runs"]] == [0, 1, 2]

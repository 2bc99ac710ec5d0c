"""`rlu`'s entry point: user errors as one line (exit 2), bugs with their traceback, and
TensorFlow's start-up chatter kept out of the output."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import rl_unplugged
from rl_unplugged import cli
from rl_unplugged.errors import ConfigError, DiskFullError, NotFoundError


def _run_with(monkeypatch, func):
    """Runs `rlu leaderboard build` with its handler replaced by `func`."""
    from rl_unplugged.cli import leaderboard

    monkeypatch.setattr(leaderboard, "_build", func)
    return cli.main(["leaderboard", "build"])


def _raise(error):
    def func(args):
        raise error
    return func


@pytest.mark.parametrize("error", [ConfigError("--set alpha: must be a number"),
                                   NotFoundError("/x/y: not found"),
                                   DiskFullError("/x/y.tfrecord: cannot write (No space)")])
def test_user_errors_are_one_line_with_exit_2(monkeypatch, capsys, error):
    assert _run_with(monkeypatch, _raise(error)) == 2
    err = capsys.readouterr().err
    assert err == f"rlu: error: {error}\n"


def test_multi_line_messages_are_joined_into_one_line(monkeypatch, capsys):
    assert _run_with(monkeypatch, _raise(ConfigError("first\n  second"))) == 2
    assert capsys.readouterr().err == "rlu: error: first second\n"


@pytest.mark.parametrize("flags", [[], ["--expert", "--no-long-run"]])
@pytest.mark.parametrize("flag,error", [
    ("--long-run-as-is", "--long-run-as-is measures the long run of --expert"),
    ("--behaviour-as-recorded", "--behaviour-as-recorded reuses the behaviour run's")])
def test_long_run_options_need_the_expert_long_run(tmp_path, capsys, flags, flag, error):
    argv = ["protocols", "references", flag, "--task", "bsuite/catch",
            "--out", str(tmp_path / "r.json"), *flags]
    assert cli.main(argv) == 2
    assert error in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_registry_key_errors_are_user_errors(capsys):
    assert cli.main(["evaluate", "--task", "bsuite/cach", "--policy", "m:f", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlu: error: unknown protocol task 'bsuite/cach'")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("error", [ValueError("a bug"), TypeError("a bug"),
                                   RuntimeError("a bug")])
def test_other_exceptions_keep_their_traceback(monkeypatch, error):
    with pytest.raises(type(error), match="a bug"):
        _run_with(monkeypatch, _raise(error))


def test_a_failed_dict_lookup_is_a_bug_not_a_user_error(monkeypatch):
    def lookup(args):
        return {}["missing key"]

    with pytest.raises(KeyError):
        _run_with(monkeypatch, lookup)


def _subprocess(args, cwd, **env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL"))} | env
    env["PYTHONPATH"] = str(Path(rl_unplugged.__file__).parents[1])
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_tensorflow_start_up_noise_stays_out_of_the_output(tmp_path):
    # `datasets inspect` imports TensorFlow; the dataset is not built, so the whole of
    # stderr must be the one error line (no oneDNN, CUDA-stub or absl lines).
    proc = _subprocess(["-m", "rl_unplugged.cli", "datasets", "inspect",
                        "rlu_bsuite/catch_noise0_run0", "--data-dir", str(tmp_path)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("rlu: error: rlu_bsuite/catch_noise0_run0 is not prepared")
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


def test_importing_the_library_changes_no_logging_settings(tmp_path):
    proc = _subprocess(["-c", "import os, rl_unplugged, rl_unplugged.cli; "
                              "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None"


def test_defaults_are_the_library_s(monkeypatch):
    from rl_unplugged.evaluation import evaluator, references

    # Changing the library's default changes the CLI's: there is no second copy.
    monkeypatch.setattr(evaluator.evaluate, "__kwdefaults__",
                        {**evaluator.evaluate.__kwdefaults__, "num_envs": 7})
    monkeypatch.setattr(references.record_references, "__kwdefaults__",
                        {**references.record_references.__kwdefaults__, "num_envs": 5})
    parser = cli.build_parser()
    assert parser.parse_args(["evaluate", "--task", "t", "--out", "o"]).num_envs == 7
    assert parser.parse_args(["protocols", "references"]).num_envs == 5
    # Options whose library lives behind a heavy import are passed only when given.
    args = parser.parse_args(["train", "bc", "--dataset", "d", "--steps", "1", "--out", "o"])
    assert (args.log_every, args.probe_every, args.checkpoint_every, args.seeds) == (None,) * 4
    args = parser.parse_args(["leaderboard", "build"])
    assert (args.seed, args.reps) == (None, None)

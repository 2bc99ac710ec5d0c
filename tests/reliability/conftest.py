"""Shared pieces of the fault-injection suite: tiny data, damage, and the CLI's verdict."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rl_unplugged import cli, paths
from rl_unplugged.data import store as S
from tests.conftest import TINY_DATASET
from tests.helpers import tiny_spec, write_random_log

SPEC = tiny_spec(TINY_DATASET)
# The cheapest learner on the tiny dataset: a few updates, no probes, one checkpoint.
TRAIN = ["train", "bc", "--dataset", TINY_DATASET, "--steps", "2", "--set", "hidden=8",
         "--set", "batch_size=8", "--log-every", "1", "--probe-every", "0",
         "--checkpoint-every", "0", "--no-progress"]


@dataclasses.dataclass
class Outcome:
    rc: int
    out: str
    err: str


def rlu(capsys, *argv: str) -> Outcome:
    """Runs `rlu` in this process; what it printed, and its exit status."""
    capsys.readouterr()
    S.forget_verified()  # As a new process sees the store.
    rc = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return Outcome(rc, captured.out, captured.err)


def _named(text: str, names) -> None:
    for name in names:
        assert str(name) in text, f"{name!r} not named in: {text!r}"


def assert_rejected(outcome: Outcome, *names) -> str:
    """A clean rejection: exit 2, one `rlu: error:` line naming each of `names`."""
    assert outcome.rc == 2, outcome
    assert "Traceback" not in outcome.err, outcome.err
    lines = [line for line in outcome.err.splitlines() if line.startswith("rlu: error: ")]
    assert len(lines) == 1 and outcome.err.endswith(lines[0] + "\n"), outcome.err
    _named(lines[0], names)
    return lines[0]


def assert_warned(outcome: Outcome, *names) -> str:
    """Success (exit 0) announced by one `rlu: warning:` line naming each of `names`."""
    assert outcome.rc == 0, outcome
    assert "Traceback" not in outcome.err and "rlu: error" not in outcome.err, outcome.err
    lines = [line for line in outcome.err.splitlines() if line.startswith("rlu: warning: ")]
    assert len(lines) == 1, outcome.err
    _named(lines[0], names)
    return lines[0]


def assert_user_error(excinfo, *names) -> None:
    """A Python API rejection: a `UserError` whose one-line message names `names`."""
    from rl_unplugged.errors import UserError

    assert isinstance(excinfo.value, UserError), repr(excinfo.value)
    message = str(excinfo.value)
    assert "\n" not in message
    _named(message, names)


def flip(path: Path, offset: int | None = None) -> None:
    """Flips every bit of one byte (default: the last, so a float's exponent)."""
    raw = bytearray(path.read_bytes())
    raw[len(raw) - 1 if offset is None else offset] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage, not what was written\xff" * 3)


@pytest.fixture
def raw_root(tmp_path) -> Path:
    """A data root holding the tiny dataset's complete raw log (no store yet)."""
    root = tmp_path / "data"
    write_random_log(SPEC, root)
    return root


def raw_dir(root: Path) -> Path:
    return paths.raw_dir(SPEC, root)


def store_dir(root: Path) -> Path:
    (directory,) = paths.cache_dir(SPEC, root).iterdir()
    return directory

"""The fault-injection catalogue: every bad input tried, its expected outcome, its test.

`RELIABILITY.md` at the repository root summarises this list; `test_catalogue.py`
checks that its counts match and that every case names a test that exists (the cases
under tests/reliability are parametrized from this list, so one cannot be added here
without being run).

Outcomes:
  REJECTED: a clean one-line error (`rlu: error: ...`, exit 2, no traceback; or the
    `UserError` from the Python API) naming the file or the field at fault.
  REBUILT ("warned"): the damaged derived file is rebuilt from its source (or, when the
    store cannot be written, bypassed), announced with one `rlu: warning:` line naming
    the file; the data served equal the undamaged data.
  RECOVERED: the operation completes correctly (a resumed run equals an uninterrupted
    one bit for bit; a read-only data root is read through a separate cache).

No case may crash (a traceback) or be accepted silently: every test asserts its
outcome and that the message names the file or field.
"""

from __future__ import annotations

import dataclasses

REJECTED, REBUILT, RECOVERED = "rejected", "warned", "recovered"
OUTCOMES = (REJECTED, REBUILT, RECOVERED)


@dataclasses.dataclass(frozen=True)
class Case:
    """One fault: `id` is unique and is the pytest parameter id under `test`."""

    id: str
    group: str
    fault: str
    outcome: str
    test: str  # "tests/<path>.py::<function>"

    def __str__(self) -> str:
        return self.id


STORE = "Store (.npy column cache)"
RAW = "Raw log (Parquet shards, manifest, resume state)"
RUN = "Run directory (checkpoints, config.json)"
ENV = "Environment (lock, read-only disk, disk full)"
INPUT = "Settings and config files"
KILL = "Kill, resume, rerun"
BOUNDS = "Numeric bounds (results and submissions)"
GROUPS = (STORE, RAW, RUN, ENV, INPUT, KILL, BOUNDS)

_STORE = "tests/reliability/test_stored_data.py::test_store_fault"
_RAW = "tests/reliability/test_stored_data.py::test_raw_log_fault"
_RESUME = "tests/reliability/test_stored_data.py::test_resume_state_fault"
_RUN = "tests/reliability/test_runs.py::test_run_fault"
_ENV = "tests/reliability/test_environment.py::test_environment_fault"
_INPUT = "tests/reliability/test_inputs.py::test_bad_input"
_BOUNDS = "tests/leaderboard/test_fuzz.py::test_named_numeric_bounds"

CASES: tuple[Case, ...] = (
    # The store: derived from the raw log, so damage is repaired, loudly.
    Case("store-column-flip", STORE, "flip a byte of reward.npy", REBUILT, _STORE),
    Case("store-column-truncate", STORE, "truncate observation.npy", REBUILT, _STORE),
    Case("store-column-delete", STORE, "delete action.npy", REBUILT, _STORE),
    Case("store-npy-header", STORE, "overwrite the .npy header of discount.npy", REBUILT, _STORE),
    Case("store-manifest-delete", STORE, "delete store.json", REBUILT, _STORE),
    Case("store-manifest-garbage", STORE, "store.json not JSON", REBUILT, _STORE),
    Case("store-manifest-truncate", STORE, "truncate store.json", REBUILT, _STORE),
    Case("store-source-shard-flip", STORE, "flip a byte of a Parquet shard under a valid store",
         REJECTED, _STORE),
    # The raw log: the original data, never guessed at.
    Case("raw-steps-flip", RAW, "flip a byte of a steps shard", REJECTED, _RAW),
    Case("raw-steps-truncate", RAW, "truncate a steps shard", REJECTED, _RAW),
    Case("raw-steps-delete", RAW, "delete a steps shard", REJECTED, _RAW),
    Case("raw-episodes-flip", RAW, "flip a byte of an episodes shard", REJECTED, _RAW),
    Case("raw-episodes-delete", RAW, "delete an episodes shard", REJECTED, _RAW),
    Case("raw-manifest-delete", RAW, "delete manifest.json", REJECTED, _RAW),
    Case("raw-manifest-garbage", RAW, "manifest.json not JSON", REJECTED, _RAW),
    Case("raw-manifest-truncate", RAW, "truncate manifest.json", REJECTED, _RAW),
    Case("raw-manifest-format", RAW, "manifest.json of another format", REJECTED, _RAW),
    Case("raw-manifest-not-object", RAW, "manifest.json a JSON list", REJECTED, _RAW),
    Case("resume-state-flip", RAW, "flip a byte of the resume .npz, then resume", REJECTED,
         _RESUME),
    Case("resume-state-truncate", RAW, "truncate the resume .npz, then resume", REJECTED,
         _RESUME),
    Case("resume-state-replaced", RAW, "resume .npz replaced by a readable one with other "
         "parameters, then resume", REJECTED, _RESUME),
    Case("resume-state-delete", RAW, "delete the resume .npz, then resume", REJECTED, _RESUME),
    # A learner's run directory.
    Case("checkpoint-flip", RUN, "flip a byte of the final checkpoint, evaluate", REJECTED,
         _RUN),
    Case("checkpoint-truncate", RUN, "truncate the final checkpoint, evaluate", REJECTED, _RUN),
    Case("checkpoint-garbage", RUN, "checkpoint replaced by garbage, evaluate", REJECTED, _RUN),
    Case("checkpoint-delete", RUN, "delete every checkpoint, evaluate", REJECTED, _RUN),
    Case("checkpoint-flip-resume", RUN, "flip a byte of the latest checkpoint, resume training",
         REJECTED, _RUN),
    Case("config-delete", RUN, "delete config.json, evaluate", REJECTED, _RUN),
    Case("config-garbage", RUN, "config.json not JSON, evaluate", REJECTED, _RUN),
    Case("config-no-task", RUN, "config.json without its task, evaluate", REJECTED, _RUN),
    Case("run-other-task", RUN, "evaluate a bsuite/catch run on classic/cartpole", REJECTED,
         _RUN),
    Case("run-member-out-of-range", RUN, "evaluate --member 5 of a one-member run", REJECTED,
         _RUN),
    # The environment.
    Case("lock-second-writer", ENV, "build while another process writes the raw log",
         REJECTED, _ENV),
    Case("read-only-cache-dir", ENV, "read-only data root with RLU_CACHE_DIR", RECOVERED, _ENV),
    Case("read-only-uncached", ENV, "read-only data root, cache=False", RECOVERED, _ENV),
    Case("read-only-no-cache-dir", ENV, "read-only data root, no cache dir: read uncached",
         REBUILT, _ENV),
    Case("disk-full-shard", ENV, "ENOSPC writing a Parquet shard during generation",
         REJECTED, _ENV),
    Case("disk-full-resume-state", ENV, "ENOSPC writing the resume state during generation",
         REJECTED, _ENV),
    Case("disk-full-prepare", ENV, "ENOSPC while tfds prepares the dataset", REJECTED,
         "tests/cli/test_datasets_cli.py::test_disk_full_during_prepare_is_one_line_naming_"
         "the_file"),
    Case("disk-full-metrics", ENV, "ENOSPC appending to metrics.jsonl during training",
         REJECTED, _ENV),
    Case("disk-full-checkpoint", ENV, "ENOSPC writing a checkpoint during training",
         REJECTED, _ENV),
    # What a user types or points the suite at.
    Case("set-nan", INPUT, "--set learning_rate=nan", REJECTED, _INPUT),
    Case("set-abc", INPUT, "--set learning_rate=abc", REJECTED, _INPUT),
    Case("set-negative", INPUT, "--set learning_rate=-1", REJECTED, _INPUT),
    Case("set-unknown", INPUT, "--set no_such_field=1", REJECTED, _INPUT),
    Case("grid-inf", INPUT, "--grid learning_rate=1e-3,inf", REJECTED, _INPUT),
    Case("batch-larger-than-data", INPUT, "--set batch_size larger than the dataset", REJECTED,
         _INPUT),
    Case("board-root-missing", INPUT, "leaderboard build --root /nonexistent", REJECTED,
         _INPUT),
    Case("baseline-missing-keys", INPUT, "baseline config without agent/track/steps",
         REJECTED, _INPUT),
    Case("baseline-not-json", INPUT, "baseline config not JSON", REJECTED, _INPUT),
    Case("baseline-bad-type", INPUT, "baseline config with steps 'ten'", REJECTED, _INPUT),
    Case("baseline-bad-agent-config", INPUT, "baseline config with learning_rate -1",
         REJECTED, _INPUT),
    Case("baseline-wrong-dataset", INPUT, "baseline config pairing a task with another "
         "task's dataset", REJECTED, _INPUT),
    Case("submission-invalid-on-board", INPUT, "an invalid file under the board's "
         "submissions/", REJECTED, _INPUT),
    Case("policy-bad-actions", INPUT, "evaluate --policy returning float actions on a "
         "discrete task", REJECTED, _INPUT),
    Case("tiny-build-as-full", INPUT, "train on a --num-steps build under the full name",
         REJECTED, _INPUT),
    Case("bidi-name", INPUT, "U+202E and other bidi/control characters in entry names",
         REJECTED, "tests/leaderboard/test_fuzz.py::test_bidi_and_control_characters_are_"
         "refused_naming_the_field"),
    Case("tfrecord-corrupt", INPUT, "datasets inspect on a corrupted TFRecord", REJECTED,
         "tests/cli/test_datasets_cli.py::test_a_corrupt_tfrecord_is_one_line_naming_the_file"),
    # Interrupted work resumes to the very same bytes.
    Case("train-finished-run", KILL, "rlu train again on a finished run: strict JSON, no "
         "NaN", RECOVERED, "tests/cli/test_train_cli.py::test_a_finished_run_prints_valid_json"),
    Case("kill-generation", KILL, "SIGKILL a generation subprocess, build again", RECOVERED,
         "tests/generation/test_resume.py::test_sigkill_midway_then_rerun_equals_uninterrupted"),
    Case("kill-training", KILL, "SIGKILL a training subprocess, train again", RECOVERED,
         "tests/reliability/test_kill_and_resume.py::test_sigkill_training_then_resume"),
    # Numbers a result record or a submission may claim.
    Case("bounds-huge", BOUNDS, "a return of 1e308", REJECTED, _BOUNDS),
    Case("bounds-negative-huge", BOUNDS, "a return of -1e308", REJECTED, _BOUNDS),
    Case("bounds-above-cap", BOUNDS, "a return just above the feasible maximum", REJECTED,
         _BOUNDS),
    Case("bounds-below-floor", BOUNDS, "a return just below the feasible minimum", REJECTED,
         _BOUNDS),
    Case("bounds-subnormal", BOUNDS, "a subnormal return where the maximum is -1 (bsuite/"
         "mountain_car)", REJECTED, _BOUNDS),
    Case("bounds-nan", BOUNDS, "a NaN return", REJECTED, _BOUNDS),
    Case("bounds-inf", BOUNDS, "an infinite return", REJECTED, _BOUNDS),
    Case("bounds-bigint", BOUNDS, "a return of 10**400 (beyond float)", REJECTED, _BOUNDS),
    Case("bounds-string", BOUNDS, "a return given as the string '1.0'", REJECTED, _BOUNDS),
    Case("bounds-bool", BOUNDS, "a return given as true", REJECTED, _BOUNDS),
    Case("bounds-too-many", BOUNDS, "more returns than the protocol's episode count",
         REJECTED, _BOUNDS),
    Case("bounds-too-few", BOUNDS, "fewer returns than the protocol's episode count",
         REJECTED, _BOUNDS),
)


def cases(test: str) -> list[Case]:
    """The cases one parametrized test runs (its node id without parameters)."""
    return [c for c in CASES if c.test == test]


def counts() -> dict[str, dict[str, int]]:
    """{group: {'tried': n, REJECTED: n, REBUILT: n, RECOVERED: n}} and a 'total' row."""
    out: dict[str, dict[str, int]] = {}
    for group in (*GROUPS, "total"):
        members = [c for c in CASES if group in (c.group, "total")]
        out[group] = {"tried": len(members),
                      **{o: sum(c.outcome == o for c in members) for o in OUTCOMES}}
    return out


def summary_table() -> str:
    """The Markdown summary RELIABILITY.md carries (checked verbatim by test_catalogue)."""
    rows = ["| kind of bad input | tried | rejected cleanly | served with a warning | "
            "recovered | crashes | silent acceptances |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for group, n in counts().items():
        name = "**total**" if group == "total" else group
        rows.append(f"| {name} | {n['tried']} | {n[REJECTED]} | {n[REBUILT]} | "
                    f"{n[RECOVERED]} | 0 | 0 |")
    return "\n".join(rows)


def case_table() -> str:
    """One Markdown row per case: id, fault, outcome, test."""
    rows = ["| case | fault | outcome | test |", "|---|---|---|---|"]
    for c in CASES:
        rows.append(f"| `{c.id}` | {c.fault} | {c.outcome} | `{c.test}` |")
    return "\n".join(rows)

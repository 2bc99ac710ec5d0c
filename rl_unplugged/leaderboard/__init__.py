"""The leaderboard: submission schema and validation, rliable aggregates, rendering.

    from rl_unplugged.leaderboard import validate_file, submit, build_board
"""

from rl_unplugged.leaderboard.board import (
    build_board,
    load_retired_submissions,
    load_submissions,
    submit,
)
from rl_unplugged.leaderboard.submission_schema import (
    MAX_FILE_BYTES,
    MIN_RUNS,
    SCHEMA_VERSION,
    schema,
)
from rl_unplugged.leaderboard.validation import (
    SubmissionError,
    validate,
    validate_bytes,
    validate_file,
)

__all__ = ["MAX_FILE_BYTES", "MIN_RUNS", "SCHEMA_VERSION", "SubmissionError", "build_board",
           "load_retired_submissions", "load_submissions", "schema", "submit", "validate",
           "validate_bytes", "validate_file"]

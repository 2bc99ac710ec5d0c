"""The submission guide (`SUBMISSIONS.md`) and the published JSON Schema, rendered.

Rendered next to the protocol docs by `rlu protocols render` (and the schema also by
`rlu leaderboard build`).
"""

from __future__ import annotations

from pathlib import Path

from rl_unplugged import fileio
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.leaderboard.submission_schema import (
    MAX_FILE_BYTES,
    MIN_RUNS,
    SCHEMA_FILE,
    TRACKS,
    schema_text,
)

_SUBMISSIONS = """\
# Submitting to the rl_unplugged leaderboard

A submission is one JSON file following `schemas/{schema}` (JSON Schema 2020-12, also
shipped in the package as `rl_unplugged/leaderboard/schemas/{schema}`).

    rlu leaderboard validate my-entry.json --root evaluation
    rlu leaderboard submit my-entry.json          # copies it to evaluation/submissions/
    rlu leaderboard build                         # LEADERBOARD.md, leaderboard.html, plots/

Entries scored under a retired protocol version N stay under `submissions/vN/`: the
board validates them against that version's frozen protocols and lists them apart
("Retired: protocol vN"), outside every track and aggregate. Only the current
version (v{version}) is accepted by `submit`.

Rules checked beyond the schema (each failure names the JSON path of the field):
- file at most {size} bytes, UTF-8, no duplicate keys, only finite numbers;
- `track` one of {tracks}; every task of the track present under `results`, no others;
- per task: `protocol_hash` and `protocol_version` of the task's current protocol
  (`rlu protocols list`); datasets among the protocol's allowed datasets. A hash of a
  retired protocol version ({retired}) is refused as such: re-evaluate under the
  current version (`README.md`, "Migration from v1 to v2");
- at least {min_runs} runs per task, the same number on every task, unique run seeds;
- per run: `episode_seeds` exactly the protocol's seeds in order, one return per seed,
  each inside the task's feasible return range (its reward bounds times the episode cap,
  listed in each protocol's doc);
- `selection.method` `final`, or `offline` with the method's `name`; never selection on
  evaluation-environment returns;
- no control characters (tabs and newlines allowed in `description`) and no
  bidirectional embedding, override or isolate characters (U+202A-U+202E, U+2066-U+2069)
  in any string;
- entry names unique on the board (case- and whitespace-insensitive).
"""



def render_submission_docs(root: str | Path) -> list[Path]:
    """Writes `root`/SUBMISSIONS.md and `root`/schemas/<schema file>."""
    root = Path(root)
    fileio.write_text(root / "schemas" / SCHEMA_FILE, schema_text())
    fileio.write_text(root / "SUBMISSIONS.md", _SUBMISSIONS.format(
        schema=SCHEMA_FILE, size=MAX_FILE_BYTES, tracks=", ".join(TRACKS), min_runs=MIN_RUNS,
        version=protocols_lib.PROTOCOL_VERSION,
        retired=", ".join(f"v{v}" for v in protocols_lib.RETIRED_VERSIONS)))
    return [root / "schemas" / SCHEMA_FILE, root / "SUBMISSIONS.md"]

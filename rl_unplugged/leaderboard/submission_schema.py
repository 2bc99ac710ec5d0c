"""The published submission schema (package data `schemas/submission-v1.json`)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from rl_unplugged import registry

SCHEMA_NAME = "rl_unplugged-submission"
SCHEMA_VERSION = 1
SCHEMA_FILE = f"submission-v{SCHEMA_VERSION}.json"
MAX_FILE_BYTES = 2 * 1024 * 1024  # Size limit of one submission file.
MIN_RUNS = 3  # Training runs (seeds) per task: rliable's intervals need several.
# Tracks: all tasks, one domain's tasks, or a single task (`registry.tracks`; the
# published schema lists the same names, and a test keeps the two equal).
TRACKS = registry.tracks()


@functools.cache
def _schema_text() -> str:
    return resources.files("rl_unplugged.leaderboard").joinpath("schemas", SCHEMA_FILE).read_text()


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a submission, as published."""
    return json.loads(_schema_text())


def schema_text() -> str:
    return _schema_text()

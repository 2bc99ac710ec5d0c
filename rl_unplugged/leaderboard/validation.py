"""Validation of untrusted submission files: structure, then meaning.

Order: size limit -> UTF-8 -> JSON (duplicate keys refused) -> finite numbers ->
JSON Schema (`schemas/submission-v1.json`) -> semantic checks against the protocols
(known, current protocol hash per task, a retired version's hash refused as retired;
every task of the track; every evaluation seed in protocol order; one finite return per
seed inside the task's feasible range; at least `MIN_RUNS` runs, the same number on
every task; unique run seeds; allowed datasets; selection method consistent; entry name
unique on the board). The protocol
rules are `Protocol` methods (`check_selection`, `check_datasets`, `check_returns`), the
same the evaluator applies. Strings carry no control or bidirectional-override
characters. Every failure is a `SubmissionError` whose message starts with the JSON
path of the offending field ('$.results["bsuite/catch"].runs[0]').
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema

from rl_unplugged import registry
from rl_unplugged.errors import ConfigError
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.evaluation.protocols import Protocol, ProtocolViolation
from rl_unplugged.leaderboard.submission_schema import MAX_FILE_BYTES, MIN_RUNS, schema


class SubmissionError(ConfigError):
    """An invalid submission; `path` is the JSON path of the offending field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


json_path = protocols_lib.field_path  # '$.results["bsuite/catch"].runs[0]'


def _violation(e: ProtocolViolation, base: list) -> SubmissionError:
    return SubmissionError(json_path([*base, *e.field]), e.reason)


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise SubmissionError("$", f"duplicate key {json.dumps(key)[:80]} in a JSON object")
        out[key] = value
    return out


def parse(data: bytes) -> Any:
    """Parses submission bytes into JSON values, refusing what JSON should not carry."""
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError("$", f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SubmissionError("$", f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise SubmissionError("$", f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
                              ) from None
    except RecursionError:
        raise SubmissionError("$", "JSON nested too deeply") from None
    except ValueError as e:  # E.g. an integer beyond Python's digit limit.
        raise SubmissionError("$", f"invalid JSON: {str(e)[:200]}") from None


_FLOAT_MAX = sys.float_info.max
# Control characters (C0, DEL, C1) and the bidirectional embedding, override and
# isolate characters (U+202A-U+202E, U+2066-U+2069, which can make a rendered name read
# differently from its bytes; with the marks U+200E, U+200F, U+061C) are refused in
# every string but `description`, where tabs and newlines are fine: JSON Schema patterns
# in Python let a trailing newline through `$`, so this check, not the patterns, is what
# keeps names single-line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DESCRIPTION_OK = re.compile(r"[\t\n\r]")


def _check_finite(value: Any, path: list, depth: int = 0) -> None:
    if depth > 64:
        raise SubmissionError(json_path(path), "nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise SubmissionError(json_path(path), f"{value} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _FLOAT_MAX:
        raise SubmissionError(json_path(path), "integer too large: not a finite float64")
    if isinstance(value, str) and _CONTROL.search(
            _DESCRIPTION_OK.sub("", value) if path == ["description"] else value):
        raise SubmissionError(json_path(path), "control characters or bidirectional "
                              "overrides are not allowed here")
    if isinstance(value, dict):
        for k, v in value.items():
            if _CONTROL.search(k):
                raise SubmissionError(json_path(path), "control characters or bidirectional "
                                      "overrides in a key")
            _check_finite(v, [*path, k], depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, [*path, i], depth + 1)


def _check_schema(obj: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        raise SubmissionError(json_path(error.absolute_path), _describe(error))


def _json_type(value: Any) -> str:
    for name, kind in (("null", type(None)), ("boolean", bool), ("integer", int),
                       ("number", float), ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _describe(error) -> str:
    """A message that never echoes a (possibly huge, hostile) value in full."""
    v, val, inst = error.validator, error.validator_value, error.instance
    size = len(inst) if isinstance(inst, str | list | dict) else None
    messages = {
        "type": lambda: f"{_json_type(inst)} is not of type {val!r}",
        "maxLength": lambda: f"too long: {size} characters > {val}",
        "minLength": lambda: f"too short: {size} characters < {val}",
        "pattern": lambda: f"does not match the pattern {val!r}",
        "maxItems": lambda: f"too many items: {size} > {val}",
        "minItems": lambda: f"too few items: {size} < {val}",
        "maxProperties": lambda: f"too many entries: {size} > {val}",
        "minProperties": lambda: f"too few entries: {size} < {val}",
        "const": lambda: f"must be {val!r}",
        "enum": lambda: f"is not one of {val!r}",
    }
    if v in messages:
        return messages[v]()
    message = error.message
    return message if len(message) <= 300 else message[:300] + "..."


def normalise_name(name: str) -> str:
    """Key under which entry names must be unique (case- and space-insensitive)."""
    return " ".join(name.casefold().split())


def track_tasks(track: str) -> list[str]:
    """Task ids of a track: 'all', a domain ('bsuite') or one task ('bsuite/catch')."""
    return registry.track_tasks(track)


def _check_semantics(sub: dict, protocols: Mapping[str, Protocol],
                     existing_names: Iterable[str]) -> None:
    if normalise_name(sub["name"]) in {normalise_name(n) for n in existing_names}:
        raise SubmissionError("$.name", f"duplicate entry name {sub['name']!r}: an entry "
                              "with this name is already on the board")
    required = track_tasks(sub["track"])
    results = sub["results"]
    for task_id in results:
        if task_id not in required:
            raise SubmissionError(json_path(["results", task_id]),
                                  f"task {task_id!r} is not part of track {sub['track']!r}")
    for task_id in required:
        if task_id not in results:
            raise SubmissionError("$.results", f"missing task {task_id!r} (track "
                                  f"{sub['track']!r} needs {len(required)} tasks)")
    known = protocols_lib.by_hash(protocols)
    num_runs = None
    for task_id in required:
        base = ["results", task_id]
        res = results[task_id]
        if task_id not in protocols:
            raise SubmissionError(json_path(base), f"no protocol for task {task_id!r}")
        protocol = protocols[task_id]
        try:
            protocol.check_selection(sub["selection"]["method"], sub["selection"].get("name"))
        except ProtocolViolation as e:
            raise _violation(e, []) from None
        h = res["protocol_hash"]
        if h != protocol.hash:
            other = known.get(h)
            retired = None if other is not None else protocols_lib.retired_protocol(h)
            if retired is not None:  # Scored under a retired version: say so, not "unknown".
                raise SubmissionError(json_path([*base, "protocol_hash"]),
                                      protocols_lib.retired_message(retired))
            why = (f"it is the protocol of {other.task_id!r}" if other is not None
                   else "unknown protocol hash")
            raise SubmissionError(json_path([*base, "protocol_hash"]),
                                  f"{why}; the current protocol of {task_id} is "
                                  f"v{protocol.version} {protocol.hash}")
        if res["protocol_version"] != protocol.version:
            raise SubmissionError(json_path([*base, "protocol_version"]),
                                  f"protocol version {res['protocol_version']} does not match "
                                  f"v{protocol.version} of hash {protocol.hash[:12]}")
        try:
            protocol.check_datasets(res["datasets"])
        except ProtocolViolation as e:
            raise _violation(e, base) from None
        runs = res["runs"]
        if len(runs) < MIN_RUNS:
            raise SubmissionError(json_path([*base, "runs"]),
                                  f"{len(runs)} runs; at least {MIN_RUNS} are needed")
        if num_runs is None:
            num_runs = len(runs)
        elif len(runs) != num_runs:
            raise SubmissionError(json_path([*base, "runs"]),
                                  f"{len(runs)} runs, but other tasks have {num_runs}: every "
                                  "task needs the same number of runs")
        seen = set()
        seeds = protocol.episode_seeds
        for r, run in enumerate(runs):
            rpath = [*base, "runs", r]
            if run["seed"] in seen:
                raise SubmissionError(json_path([*rpath, "seed"]),
                                      f"duplicate run seed {run['seed']}")
            seen.add(run["seed"])
            got = run["episode_seeds"]
            if len(got) < len(seeds):
                missing = [s for s in seeds if s not in set(got)][:5]
                raise SubmissionError(json_path([*rpath, "episode_seeds"]),
                                      f"too few episodes: {len(got)} < {len(seeds)} "
                                      f"(missing seeds include {missing})")
            if got != seeds:
                padded = seeds + [None] * (len(got) - len(seeds))
                bad = next(i for i, (a, b) in enumerate(zip(got, padded, strict=True)) if a != b)
                raise SubmissionError(json_path([*rpath, "episode_seeds", bad]),
                                      "episode seeds must be the protocol's "
                                      f"{len(seeds)} seeds, in protocol order")
            try:
                protocol.check_returns(run["returns"])
            except ProtocolViolation as e:
                raise _violation(e, rpath) from None


def validate(obj: Any, *, protocols: Mapping[str, Protocol] | None = None,
             existing_names: Iterable[str] = ()) -> dict:
    """Validates a parsed submission; returns it unchanged if valid.

    Args:
      obj: the parsed JSON document.
      protocols: {task_id: Protocol} to validate against (default: the frozen ones).
      existing_names: names of entries already on the board.

    Raises:
      SubmissionError: the first problem found, prefixed with its JSON path.
    """
    _check_finite(obj, [])
    _check_schema(obj)
    _check_semantics(obj, protocols_lib.all_protocols() if protocols is None else protocols,
                     existing_names)
    return obj


def validate_bytes(data: bytes, **kwargs) -> dict:
    return validate(parse(data), **kwargs)


def validate_file(path: str | Path, **kwargs) -> dict:
    """Validates a submission file (size checked before reading it whole)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SubmissionError("$", f"{path.name} is {size} bytes; the limit is {MAX_FILE_BYTES}")
    with open(path, "rb") as f:
        return validate_bytes(f.read(MAX_FILE_BYTES + 1), **kwargs)

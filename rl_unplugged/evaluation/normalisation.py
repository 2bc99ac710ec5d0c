"""Normalised scores: (return - random) / (expert - random), per task.

References come from the protocol (see `references.py` for how they are measured).
A missing reference is an error, never a silent default.
"""

from __future__ import annotations

import numpy as np

from rl_unplugged.evaluation.protocols import Protocol


class MissingReferenceError(ValueError):
    """A normalisation reference has not been measured yet."""


def reference_values(protocol: Protocol) -> tuple[float, float]:
    """(random, expert) reference returns of a protocol.

    Raises:
      MissingReferenceError: either reference is pending (its value is null).
      ValueError: the references are equal (the scale would be undefined).
    """
    refs = protocol.references
    values = []
    for kind in ("random", "expert"):
        record = refs.get(kind) or {}
        if record.get("value") is None:
            note = record.get("note", "")
            raise MissingReferenceError(
                f"cannot normalise {protocol.task_id}: the {kind} reference is "
                f"{record.get('status', 'missing')}" + (f" ({note})" if note else ""))
        values.append(float(record["value"]))
    if values[0] == values[1]:
        raise ValueError(f"{protocol.task_id}: random and expert references are equal "
                         f"({values[0]}); the normalised scale is undefined")
    return values[0], values[1]


def normalise(returns, protocol: Protocol) -> np.ndarray:
    """Normalised scores of raw `returns` (any shape) under `protocol`'s references."""
    random, expert = reference_values(protocol)
    return (np.asarray(returns, np.float64) - random) / (expert - random)

"""The one process-wide cache of compiled (jitted) functions.

Jitted functions are keyed by everything that decides their trace (a kind, the agent's
name and config, the task, ...): runs of the same learner or behaviour agent in one
process (ensembles, resumed runs, noise levels of a dataset, tests, notebooks) reuse
one compilation. Keys must be hashable; frozen dataclass configs and specs are.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

F = TypeVar("F")

MAX_ENTRIES = 128
_CACHE: collections.OrderedDict[Hashable, object] = collections.OrderedDict()
_LOCK = threading.Lock()


def cached(key: Hashable, build: Callable[[], F]) -> F:
    """Returns the function cached under `key`, calling `build()` the first time.

    The least recently used entry is dropped beyond `MAX_ENTRIES`.
    """
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]  # type: ignore[return-value]
    value = build()
    with _LOCK:
        _CACHE[key] = value
        _CACHE.move_to_end(key)
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return value


def clear() -> None:
    """Empties the cache (tests)."""
    with _LOCK:
        _CACHE.clear()

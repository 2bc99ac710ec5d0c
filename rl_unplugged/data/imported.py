"""Imported datasets: any `Source` materialised into a store under a name of its own.

`import_source(source, name, data_dir)` writes the store (conformance checked, every
file checksummed: `rl_unplugged.data.store.materialize`) at

  <data_dir>/rlu_imported/<name>/            the store (store.json + .npy columns)

and records the source's task in the store manifest (`source.metadata["rlu_task"]`:
a registered task by id, an ad-hoc one in full, `rl_unplugged.data.adhoc`).
`open_imported(name)` opens it again; `rl_unplugged.data.loader.open_dataset` and
`load_transitions`, and `rlu train --dataset NAME`, accept such names beside the
registered datasets. `store_task(store)` gives the task of any store.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from rl_unplugged import paths, registry
from rl_unplugged.data import adhoc
from rl_unplugged.data import store as S
from rl_unplugged.data.sources import DelegatingSource, Source
from rl_unplugged.errors import ConfigError, NotFoundError, UnknownNameError
from rl_unplugged.specs import TaskSpec

IMPORTED_DIR = "rlu_imported"
TASK_KEY = "rlu_task"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*")


def imported_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The store directory of imported dataset `name`.

    Raises:
      ConfigError: a name that is not [A-Za-z0-9_.-] segments joined by '/', or the
        name of a registered dataset.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"--as {name!r}: use letters, digits, '_', '.', '-' (segments "
                          f"joined by '/')")
    try:
        registry.get_dataset(name)
    except UnknownNameError:
        return paths.data_dir(data_dir) / IMPORTED_DIR / name
    raise ConfigError(f"--as {name!r}: a registered dataset has that name; choose another")


def exists(name: str, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether `name` is an imported dataset under the data root."""
    try:
        return (imported_dir(name, data_dir) / S.MANIFEST).exists()
    except ConfigError:
        return False


class _Recorded(DelegatingSource):
    """`source`, with its task recorded in its metadata (so the store knows it)."""

    @property
    def metadata(self) -> dict[str, Any]:
        return {**self._source.metadata, TASK_KEY: adhoc.task_to_json(self._source.task)}


def import_source(source: Source, name: str,
                  data_dir: str | os.PathLike | None = None) -> S.Store:
    """Materialises `source` as imported dataset `name` (replacing an earlier import).

    Raises:
      ConfigError: a bad or registered name. CorruptDataError: an episode does not
        conform (names the episode and field), or the source's files are damaged.
    """
    return materialize_recorded(source, imported_dir(name, data_dir))


def materialize_recorded(source: Source, store_dir: str | os.PathLike) -> S.Store:
    """`store.materialize(source, store_dir)` with the source's task recorded in the
    store (as `import_source` does), so `store_task` and exports know it."""
    return S.materialize(_Recorded(source), store_dir)


def open_imported(name: str, data_dir: str | os.PathLike | None = None) -> S.Store:
    """The store of imported dataset `name` (checked against its manifest).

    Raises:
      NotFoundError: never imported (says how). CorruptDataError: a damaged store file.
    """
    directory = imported_dir(name, data_dir)
    if not (directory / S.MANIFEST).exists():
        raise NotFoundError(f"{name} is not imported under {paths.data_dir(data_dir)}; run "
                            f"`rlu datasets import SRC --as {name}`")
    return S.open_store(directory)


def store_task(store: S.Store) -> TaskSpec:
    """The task of a store: recorded by an import, else the registered task it names."""
    recorded = (store.source.get("metadata") or {}).get(TASK_KEY)
    if recorded is not None:
        return adhoc.task_from_json(recorded)
    return registry.get_task(store.manifest["task"])

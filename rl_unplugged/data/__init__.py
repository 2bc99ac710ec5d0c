"""Data layer: one door from any source of episodes to the store learners read.

  source (`Source`: `RawLogSource`; any other format by name through `open_source`:
  tfds:, minari:, d4rl:, npz:, d3rlpy:, rlu-gcs:) --`materialize`--> store (`.npy`
  columns + checksummed manifest) --> learners
  (`Store.transitions()`, `Store.episodes()`, `load_transitions`, `load_episodes`).

Field names live in `fields` (imported as `F`). Errors: `CorruptDataError` (a file
missing, truncated or failing its checksum, or an episode that does not conform;
`CorruptLogError` for raw logs) and `NotFoundError` (a dataset never built), both
`rl_unplugged.errors.UserError`s. This package never imports `rl_unplugged.generation`
(which imports it): builders and the CLI pass `generation.generate` to
`ensure_raw_log`/`load_transitions(build=True, generate=...)`.
"""

from rl_unplugged.data import fields
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.imported import import_source, open_imported, store_task
from rl_unplugged.data.loader import (
    StoreRebuiltWarning,
    UncachedReadWarning,
    load_episodes,
    load_transitions,
    open_dataset,
)
from rl_unplugged.data.prepare import ensure_raw_log
from rl_unplugged.data.raw_log import CorruptLogError
from rl_unplugged.data.sources import Block, RawLogSource, Source
from rl_unplugged.data.store import EpisodeIndex, Store, materialize, open_store
from rl_unplugged.data.transitions import Transitions, from_steps
from rl_unplugged.data.uri import open_source
from rl_unplugged.errors import CorruptDataError, NotFoundError

__all__ = [
    "Block", "CorruptDataError", "CorruptLogError", "Episode", "EpisodeIndex", "NotFoundError",
    "RawLogSource", "Source", "Store", "StoreRebuiltWarning", "Transitions",
    "UncachedReadWarning", "ensure_raw_log", "fields", "from_steps", "import_source",
    "load_episodes", "load_transitions", "materialize", "open_dataset", "open_imported",
    "open_source", "open_store", "store_task",
]

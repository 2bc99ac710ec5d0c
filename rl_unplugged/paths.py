"""Where datasets live: one root, `TFDS_DATA_DIR`-compatible.

  <data_dir>/rlu_<domain>/<config>/<version>/   prepared TFDS datasets
  <data_dir>/rlu_raw/rlu_<domain>/<config>/     raw logs (Parquet shards, checkpoints)
  <data_dir>/rlu_cache/rlu_<domain>/<config>/   TF-free store (`rl_unplugged.data.store`)

The store can live elsewhere, e.g. when the data root is on a read-only disk: pass
`cache_dir=` to the loaders or set `RLU_CACHE_DIR`; the store of a dataset is then
`<cache root>/rlu_<domain>/<config>/`.
"""

from __future__ import annotations

import os
from pathlib import Path

from rl_unplugged.specs import DatasetSpec

CACHE_ENV = "RLU_CACHE_DIR"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $TFDS_DATA_DIR, else ~/tensorflow_datasets (TFDS's default)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("TFDS_DATA_DIR")
    return Path(env).expanduser() if env else Path("~/tensorflow_datasets").expanduser()


def raw_dir(spec: DatasetSpec, root: str | os.PathLike | None = None) -> Path:
    return data_dir(root) / "rlu_raw" / spec.builder_name / spec.config_name


def cache_root(root: str | os.PathLike | None = None,
               explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $RLU_CACHE_DIR, else `<data_dir(root)>/rlu_cache`."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else data_dir(root) / "rlu_cache"


def cache_dir(spec: DatasetSpec, root: str | os.PathLike | None = None,
              cache: str | os.PathLike | None = None) -> Path:
    """The directory of `spec`'s stores: under `cache_root(root, cache)`."""
    return cache_root(root, cache) / spec.builder_name / spec.config_name

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

from rl_unplugged.errors import ConfigError
from rl_unplugged.specs import DatasetSpec

CACHE_ENV = "RLU_CACHE_DIR"


def local_path(path: str | os.PathLike, what: str = "data root") -> Path:
    """`path` as a local (POSIX) path, `~` expanded.

    Raises:
      ConfigError: an object-store URL (`gs://`, `s3://`, ...): raw logs and stores are
        written with POSIX locks and renames, so a shared file system is needed.
    """
    if "://" in str(path):
        raise ConfigError(f"{what} {str(path)!r} is a URL; the suite writes with POSIX file "
                          "locks and renames: use a local path or a shared file system "
                          "mounted on every machine")
    return Path(path).expanduser()


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $TFDS_DATA_DIR, else ~/tensorflow_datasets (TFDS's default).

    Raises:
      ConfigError: the root is a URL (`local_path`).
    """
    if explicit is not None:
        return local_path(explicit)
    env = os.environ.get("TFDS_DATA_DIR")
    return local_path(env, "TFDS_DATA_DIR") if env else local_path("~/tensorflow_datasets")


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

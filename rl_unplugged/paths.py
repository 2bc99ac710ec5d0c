"""Where datasets live: one root, `TFDS_DATA_DIR`-compatible.

  <data_dir>/rlu_<domain>/<config>/<version>/   prepared TFDS datasets
  <data_dir>/rlu_raw/rlu_<domain>/<config>/     raw logs (Parquet shards, checkpoints)
  <data_dir>/rlu_cache/rlu_<domain>/<config>/   TF-free NumPy column cache
"""

from __future__ import annotations

import os
from pathlib import Path

from rl_unplugged.specs import DatasetSpec


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit`, else $TFDS_DATA_DIR, else ~/tensorflow_datasets (TFDS's default)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("TFDS_DATA_DIR")
    return Path(env).expanduser() if env else Path("~/tensorflow_datasets").expanduser()


def raw_dir(spec: DatasetSpec, root: str | os.PathLike | None = None) -> Path:
    return data_dir(root) / "rlu_raw" / spec.builder_name / spec.config_name


def cache_dir(spec: DatasetSpec, root: str | os.PathLike | None = None) -> Path:
    return data_dir(root) / "rlu_cache" / spec.builder_name / spec.config_name

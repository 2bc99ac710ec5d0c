"""One parser of source names: `open_source("scheme:rest")` gives the `Source`.

  tfds:<name>[/<config>][:<split>]     a prepared TFDS RLDS dataset under data_dir
  minari:<local path or dataset id>    a Minari dataset (ids under $MINARI_DATASETS_PATH)
  d4rl:/path/file.hdf5                 a D4RL-format HDF5 file
  npz:/path/file.npz                   the suite's flat npz export
  d3rlpy:/path/file.h5                 a d3rlpy 2.x ReplayBuffer dump
  rlu-gcs:<root>/<Game>/run_<n>        RL Unplugged's original Atari files
  rlu-gcs:<root>/dm_control_suite/<t>  ... DM Control Suite files
  rlu-gcs:<root>/dm_locomotion/<t>/seq<L>              ... DM Locomotion files
  rlu-gcs:<root>/bsuite/<env>/<seed>_<noise>/<seed>_full  ... bsuite files
  rlu-gcs:<root>/dmlab/<task>/<run>    ... DMLab files
  rlu-gcs:<root>/combined_challenge_<c>/<domain>/<task>/offline_rl_challenge_<d>  ... RWRL
                                       (`rl_unplugged.data.rlu_originals.open_original`;
                                       gs:// works)

`tfds://...`-style double slashes are accepted too. An unknown scheme raises
`UnknownNameError` listing the valid ones.
"""

from __future__ import annotations

import os

from rl_unplugged.data.sources import Source
from rl_unplugged.errors import ConfigError, UnknownNameError
from rl_unplugged.specs import TaskSpec

SCHEMES = ("tfds", "minari", "d4rl", "npz", "d3rlpy", "rlu-gcs")


def split_uri(uri: str) -> tuple[str, str]:
    """('scheme', 'rest') of 'scheme:rest' (or 'scheme://rest').

    Raises:
      UnknownNameError: no scheme, or one not in `SCHEMES` (lists them).
    """
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme not in SCHEMES:
        raise UnknownNameError(f"unknown source {uri!r}; use one of "
                               f"{', '.join(s + ':...' for s in SCHEMES)}")
    if rest.startswith("//") and scheme != "rlu-gcs":  # rlu-gcs:gs://... keeps its own.
        rest = rest[2:]
    if not rest:
        raise ConfigError(f"source {uri!r} names nothing after '{scheme}:'")
    return scheme, rest


def open_source(uri: str, *, data_dir: str | os.PathLike | None = None,
                task: TaskSpec | None = None, name: str | None = None) -> Source:
    """The `Source` a name designates (see the module docstring).

    Args:
      uri: 'scheme:rest'.
      data_dir: the TFDS data root for `tfds:` (default: $TFDS_DATA_DIR, ~/tensorflow_datasets).
      task: the registered task of the data, when known (else the source's own).
      name: the dataset's name (default: from the file or dataset).

    Raises:
      UnknownNameError: an unknown scheme. NotFoundError: nothing there.
      CorruptDataError: unreadable data (names the file and the field).
    """
    scheme, rest = split_uri(uri)
    if scheme == "tfds":
        from rl_unplugged.data.sources_rlds import TFDSSource

        dataset, _, split = rest.partition(":")
        return TFDSSource(dataset, data_dir, split=split or "train", task=task)
    if scheme == "minari":
        from rl_unplugged.data.sources_minari import MinariSource

        return MinariSource(rest, task=task, name=name)
    if scheme == "d4rl":
        from rl_unplugged.data.sources_d4rl import D4RLSource

        return D4RLSource(rest, task=task, name=name)
    if scheme == "npz":
        from rl_unplugged.data.sources_npz import NpzSource

        return NpzSource(rest, task=task, name=name)
    if scheme == "rlu-gcs":
        from rl_unplugged.data.rlu_originals import open_original

        if task is not None and task.domain == "atari":  # A registered game's task.
            from rl_unplugged.data.rlu_atari import RegisteredAtariSource

            return RegisteredAtariSource(rest, task)
        return open_original(rest)
    from rl_unplugged.data.sources_d3rlpy import D3rlpySource

    return D3rlpySource(rest, task=task, name=name)

"""The one place that imports `rlds` (pinned to 0.1.6) and checks its version.

rlds 0.1.7 and 0.1.8 import dm-reverb at package import (for `pattern_map` only),
and dm-reverb 0.14, its last release, fails to load on TensorFlow > 2.15. rlds
0.1.6 needs no reverb and its `rlds.transformations` work on TF 2.21 (tested in
tests/data/test_rlds_compat.py). Import rlds as `from rl_unplugged.data.rlds_compat
import rlds`.
"""

from __future__ import annotations

import importlib.metadata

REQUIRED_VERSION = "0.1.6"


def check_version(installed: str | None = None) -> str:
    """Returns the installed rlds version; raises ImportError naming the pin otherwise."""
    if installed is None:
        try:
            installed = importlib.metadata.version("rlds")
        except importlib.metadata.PackageNotFoundError as e:
            raise ImportError(f"rlds is not installed; pip install rlds=={REQUIRED_VERSION}") from e
    if installed != REQUIRED_VERSION:
        raise ImportError(
            f"rl_unplugged needs rlds=={REQUIRED_VERSION}, found {installed}: rlds 0.1.7+ imports "
            f"dm-reverb, which fails on TensorFlow > 2.15; pip install rlds=={REQUIRED_VERSION}")
    return installed


check_version()

import rlds  # noqa: E402  (only after the version check)

__all__ = ["REQUIRED_VERSION", "check_version", "rlds"]

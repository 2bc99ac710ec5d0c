"""TFP's JAX substrate, imported without TensorFlow.

`tensorflow_probability.substrates.jax` tries `import tensorflow` (only to copy
docstrings, in `internal/backend/jax/_utils.py`) and, where TensorFlow is installed,
pays 5-10 s and loads TF into a training process that must stay TF-free. We hide
TensorFlow during that one import (unless it is already loaded), then restore
`sys.modules`: TFP falls back to its TF-free path, which computes the same values.
"""

from __future__ import annotations

import sys


def _import_tfp():
    if "tensorflow" in sys.modules:
        import tensorflow_probability.substrates.jax as tfp

        return tfp
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # Makes the import fail fast.
    try:
        import tensorflow_probability.substrates.jax as tfp
    finally:
        del sys.modules["tensorflow"]
    return tfp


tfp = _import_tfp()
tfd = tfp.distributions

__all__ = ["tfd", "tfp"]

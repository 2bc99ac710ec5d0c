"""The one Beam pipeline shape both fan-outs use: Create(elements) | Map(fn) | collect."""

from __future__ import annotations

import contextlib
import json
import shlex
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rl_unplugged import fileio
from rl_unplugged.errors import ConfigError

__all__ = ["pipeline_options", "require_beam", "run_map"]


def require_beam():
    """The `apache_beam` module.

    Raises:
      ConfigError: apache-beam is not installed (one line, naming the package).
    """
    try:
        import apache_beam
    except ImportError as e:
        raise ConfigError("--beam needs Apache Beam: pip install apache-beam "
                          f"(import failed: {e})") from e
    return apache_beam


def pipeline_options(runner: str, options: str | Sequence[str] = ()) -> list[str]:
    """Beam's command-line flags: `--runner=RUNNER` plus the user's (a string is split
    like a shell would)."""
    flags = shlex.split(options) if isinstance(options, str) else list(options)
    return [f"--runner={runner}", *flags]


def run_map(fn: Callable[[Any], Any], elements: Sequence[Any], *, runner: str = "DirectRunner",
            options: str | Sequence[str] = (), scratch: str | Path | None = None) -> list[Any]:
    """[fn(e) for e in elements], computed by a Beam pipeline, in the order of `elements`.

    Each worker writes its element's (JSON-able) result atomically under `scratch`,
    read back in element order when the pipeline is done. The default, a temporary
    directory of the launching machine, serves local runners; cluster runners need a
    directory every worker can write (a shared file system).
    """
    beam = require_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    with contextlib.ExitStack() as stack:
        out = Path(scratch) if scratch is not None else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="rlu-beam-")))
        out.mkdir(parents=True, exist_ok=True)

        def work(indexed):
            index, element = indexed
            fileio.write_json(out / f"{index:08d}.json", {"result": fn(element)})
            return index

        with beam.Pipeline(options=PipelineOptions(pipeline_options(runner, options))) as p:
            _ = (p | "elements" >> beam.Create(list(enumerate(elements)))
                 | "work" >> beam.Map(work))
        return [json.loads((out / f"{i:08d}.json").read_text())["result"]
                for i in range(len(elements))]

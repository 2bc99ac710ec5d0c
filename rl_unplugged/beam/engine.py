"""The one Beam pipeline shape both fan-outs use: Create(elements) | Map(fn) | collect."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rl_unplugged import fileio, paths
from rl_unplugged.errors import ConfigError, UserError

__all__ = ["pipeline_options", "require_beam", "run_map", "worker_error"]


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

    Each worker writes its element's (JSON-able) result atomically into a directory of
    this call's own (so runs sharing a `scratch` never read each other's results), read
    back in element order when the pipeline is done, then removed. `scratch` defaults to
    the launching machine's temporary directory, which serves local runners; cluster
    runners need a directory every worker and the launcher can reach (a shared file
    system).

    Raises:
      UserError: (its subclass) an element raised one; the first in element order is
        raised again here, with its message (the others' elements still ran).
    """
    beam = require_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    root = paths.local_path(scratch, "--scratch") if scratch is not None else None
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="rlu-beam-", dir=root))
    try:
        def work(indexed):
            index, element = indexed
            try:
                record = {"result": fn(element)}
            except UserError as e:  # Carried back as data: a one-line error, not a trace.
                record = {"error": [type(e).__module__, type(e).__qualname__, str(e)]}
            fileio.write_json(out / f"{index:08d}.json", record)
            return index

        with beam.Pipeline(options=PipelineOptions(pipeline_options(runner, options))) as p:
            _ = (p | "elements" >> beam.Create(list(enumerate(elements)))
                 | "work" >> beam.Map(work))
        records = [json.loads((out / f"{i:08d}.json").read_text())
                   for i in range(len(elements))]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    for record in records:
        if "error" in record:
            raise _user_error(*record["error"])
    return [record["result"] for record in records]


def _user_error(module: str, name: str, message: str) -> UserError:
    """The `UserError` subclass `module.name` with `message` (plain `UserError` if gone)."""
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        cls = UserError
    return (cls if isinstance(cls, type) and issubclass(cls, UserError) else UserError)(message)


# The last "rl_unplugged.<module>.<Error>: message" line of a worker's traceback text.
_WORKER_ERROR = re.compile(r"(rl_unplugged(?:\.\w+)+)\.(\w+): (.+?)(?: \[while running|$)",
                           re.MULTILINE)


def worker_error(error: BaseException) -> UserError | None:
    """The suite's user error a Beam worker raised inside a pipeline the suite did not
    shape (TFDS's prepare step), rebuilt from the runner's exception text; None if
    there is none (a bug: keep the runner's traceback)."""
    found = _WORKER_ERROR.findall(str(error))
    if not found:
        return None
    module, name, message = found[-1]
    rebuilt = _user_error(module, name, message.strip())
    return rebuilt if type(rebuilt) is not UserError else None

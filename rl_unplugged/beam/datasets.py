"""Many dataset builds as Beam pipelines: one element per (task, level, run) to
generate, then one per raw-log shard to prepare.

Generation: each element runs the single-process build's own gate,
`data.prepare.ensure_raw_log` with `generation.generate` (a run's shards are written in
order by one behaviour agent, so a run is one element), and returns the raw log's
fingerprint (`reference_builds.describe`: the manifest digest). Datasets made from
other logs run after them, one pipeline per stage (`plan`): replay and random logs
first, then those made from a replay run (expert; continuous tasks' medium and
medium_replay), then medium_expert. The logs they are made from join the earlier
stages even when not asked for; otherwise two workers would build the same source run
at once (its writer lock refuses the second).

Preparation: each dataset asked for goes through TFDS's Beam support
(`RluBuilder(beam=True)`: one element per raw-log shard, under
`tfds.download.DownloadConfig(beam_runner=..., beam_options=...)`), one dataset after
another.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from typing import Any

from rl_unplugged import paths, registry
from rl_unplugged.beam import engine
from rl_unplugged.errors import ConfigError, UnknownNameError
from rl_unplugged.specs import D4RL_LEVELS

__all__ = ["build", "expand", "generate_element", "plan", "sources", "stages"]


def expand(patterns: Sequence[str]) -> list[str]:
    """Registered dataset names matching `patterns` (exact names or shell globs), in
    registry order, each once.

    Raises:
      UnknownNameError: a pattern that matches no dataset.
    """
    names = [spec.name for spec in registry.datasets()]
    chosen: list[str] = []
    for pattern in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise UnknownNameError(f"no dataset matches {pattern!r} (see `rlu datasets list`)")
        chosen += [n for n in hits if n not in chosen]
    return chosen


def stages(names: Sequence[str]) -> list[list[str]]:
    """`names` grouped by build stage, in order; each group keeps its order. A log's
    stage is one past the latest of the logs it is made from (`sources`): replay and
    random 0; expert, medium and medium_replay 1; medium_expert 2."""
    groups: dict[int, list[str]] = {}
    for name in names:
        groups.setdefault(_stage(name), []).append(name)
    return [groups[k] for k in sorted(groups)]


def _stage(name: str) -> int:
    return max((_stage(s) + 1 for s in _direct_sources(name)), default=0)


def _direct_sources(name: str) -> list[str]:
    """The logs dataset `name` is made from directly (`d4rl_levels.source_specs`)."""
    from rl_unplugged.generation import d4rl_levels

    spec = registry.get_dataset(name)
    if spec.level not in D4RL_LEVELS:
        return []
    return [s.name for s in d4rl_levels.source_specs(spec).values()]


def sources(name: str) -> list[str]:
    """The registered logs dataset `name` is made from, directly or not (none for
    replay and random levels): expert, medium and medium_replay come from the noise0
    run of the same run index; medium_expert from its medium and expert logs."""
    out: list[str] = []
    for source in _direct_sources(name):
        for n in (*sources(source), source):
            if n not in out:
                out.append(n)
    return out


def plan(names: Sequence[str]) -> list[list[str]]:
    """The generation stages of `names`: `stages` over `names` and every log they are
    made from (`sources`), each once."""
    everything = list(names)
    for name in names:
        everything += [s for s in sources(name) if s not in everything]
    return stages(everything)


def generate_element(element: dict[str, Any]) -> dict[str, Any]:
    """One (task, level, run): its raw log, generated or resumed, and its fingerprint.

    element: {'name': dataset name, 'data_dir': data root, 'num_steps': int or None}.
    """
    from rl_unplugged import generation
    from rl_unplugged.data.prepare import ensure_raw_log
    from rl_unplugged.data.reference_builds import describe

    spec = registry.get_dataset(element["name"])
    if element.get("num_steps") is not None:
        spec = spec.replace(num_steps=element["num_steps"])
    log = ensure_raw_log(spec, element["data_dir"], generate=generation.generate)
    return {"name": spec.name, **describe(log.directory)}


def build(patterns: Sequence[str], data_dir: str | os.PathLike | None = None, *,
          num_steps: int | None = None, runner: str = "DirectRunner",
          options: str | Sequence[str] = (), prepare: bool = True,
          scratch: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Generates every matching dataset, and the logs they are made from, in Beam
    pipelines (one per build stage, `plan`), then prepares each matching dataset for
    TFDS through Beam (one element per shard).

    Args:
      scratch: where workers leave their fingerprints (`engine.run_map`); cluster
        runners need a directory every worker and the launcher can reach.

    Returns:
      One fingerprint per matching dataset (name, manifest_sha256, episodes,
      transitions), in the order asked.

    Raises:
      ConfigError: apache-beam is not installed.
      UnknownNameError: a pattern matches no dataset.
    """
    engine.require_beam()
    root = str(paths.data_dir(data_dir))
    names = expand(patterns)
    if num_steps is not None:
        for name in names:
            clash = [s for s in sources(name) if s in names]
            if clash:
                raise ConfigError(
                    f"--num-steps {num_steps} would build {clash[0]} small, but {name} is "
                    f"made from its registered size; build {clash[0]} alone, or without "
                    "--num-steps")
    done: dict[str, dict[str, Any]] = {}
    for stage in plan(names):
        # A source not asked for is built at its registered size: what the levels made
        # from it would build themselves.
        elements = [{"name": n, "data_dir": root,
                     "num_steps": num_steps if n in names else None} for n in stage]
        done.update(zip(stage, engine.run_map(generate_element, elements, runner=runner,
                                              options=options, scratch=scratch),
                        strict=True))
    prints = [done[n] for n in names]
    if prepare:
        import tensorflow_datasets as tfds

        from rl_unplugged import builders

        config = tfds.download.DownloadConfig(
            beam_runner=runner, beam_options=_beam_options(runner, options))
        for name in names:
            try:
                builders.prepare(name, root, num_steps=num_steps, beam=True,
                                 download_config=config)
            except Exception as e:  # A worker's user error, one line again.
                rebuilt = engine.worker_error(e)
                if rebuilt is None:
                    raise
                raise rebuilt from e
    return prints


def _beam_options(runner: str, options: str | Sequence[str]):
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(engine.pipeline_options(runner, options))

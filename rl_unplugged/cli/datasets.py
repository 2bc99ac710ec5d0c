"""`rlu datasets ...`: list the registry, build, inspect, import and export datasets."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

from rl_unplugged import registry
from rl_unplugged.cli import common
from rl_unplugged.errors import ConfigError, CorruptDataError, DiskFullError, IncompatibleError


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rl_unplugged tasks (configs: <task>_<level>_run<k>)")
    for col in ("builder", "task", "env", "obs", "actions", "time limit", "runs",
                "steps/dataset", "levels"):
        table.add_column(col)
    for t in registry.tasks(args.domain):
        table.add_row(f"rlu_{t.domain}", t.name, t.env_id,
                      f"{t.observation.shape} {t.observation.dtype}", str(t.num_actions),
                      str(t.max_episode_steps), str(t.num_runs),
                      *((f"{t.behaviour.num_steps:,}", "noise0..noise50, random, expert"
                         + ("" if t.is_discrete else ", medium, medium_replay, medium_expert"))
                        if t.builds_datasets else  # Atari: RL Unplugged's files.
                        ("not built here", "RL Unplugged's (rlu-gcs: import)")))
    Console(width=160).print(table)
    return 0


def check_log_size(spec, data_dir=None, num_steps: int | None = None) -> None:
    """Refuses a tiny build (`--num-steps`) where the full dataset is expected.

    The generator records the `num_steps` it was asked for in the raw log's manifest
    (`generation.num_steps`); a log made for fewer transitions than `num_steps` (default:
    the registry's) sits under the same config name and must not be used unnoticed.

    Raises:
      IncompatibleError: the log was generated for fewer transitions (names the log).
    """
    from rl_unplugged import paths
    from rl_unplugged.data.raw_log import read_manifest

    wanted = spec.num_steps if num_steps is None else num_steps
    raw = paths.raw_dir(spec, data_dir)
    manifest = read_manifest(raw)
    made = ((manifest or {}).get("generation") or {}).get("num_steps")
    if isinstance(made, int) and made < wanted:
        raise IncompatibleError(
            f"{raw} holds a tiny build of {spec.name} ({made:,} transitions, made with "
            f"--num-steps {made}), not the {wanted:,} expected; pass --num-steps {made} to "
            f"use it, or delete {raw} and build again")


@contextlib.contextmanager
def _disk_full_names(where: Path) -> Iterator[None]:
    """An OSError for lack of space (from tfds or a writer other than `fileio`) as a
    one-line DiskFullError naming the file."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT) or isinstance(e, DiskFullError):
            raise
        raise DiskFullError(f"{e.filename or where}: cannot write ({os.strerror(e.errno)})"
                            ) from e


def build(spec, data_dir=None, *, num_steps: int | None = None):
    """Generates (with a progress bar) and prepares one dataset; returns the tfds builder.

    Raises:
      IncompatibleError: the data root holds a tiny build of the dataset (`num_steps`
        smaller than asked), or a prepared dataset made from another raw log.
      DiskFullError: no space left (names the file).
    """
    from tqdm import tqdm

    from rl_unplugged import builders, generation, paths
    from rl_unplugged.data.prepare import ensure_raw_log

    check_log_size(spec, data_dir, num_steps)
    if num_steps is not None:
        spec = spec.replace(num_steps=num_steps)
    root = paths.data_dir(data_dir)
    bar = None

    def progress(new_transitions: int) -> None:
        # Called by the generator with the transitions logged since its last call; the
        # bar appears only when something is generated.
        nonlocal bar
        if bar is None:
            bar = tqdm(total=spec.num_steps, unit="transitions", desc=f"logging {spec.name}")
        bar.update(new_transitions)

    try:
        with _disk_full_names(paths.raw_dir(spec, root)):
            log = ensure_raw_log(spec, root, generate=generation.generate,
                                 progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"raw log: {log.directory} ({log.num_episodes:,} episodes, "
          f"{log.num_transitions:,} transitions)")
    where = Path(builders.builder(spec.name, root, num_steps=num_steps).data_dir)
    with _disk_full_names(where):
        builder = builders.prepare(spec.name, root, num_steps=num_steps)
    print(f"prepared {spec.name}: {builder.data_dir}")
    return builder


def _build(args: argparse.Namespace) -> int:
    if getattr(args, "beam", False):
        return _build_with_beam(args)
    build(registry.get_dataset(args.name), args.data_dir, num_steps=args.num_steps)
    return 0


def _build_with_beam(args: argparse.Namespace) -> int:
    """`build --beam`: every dataset matching NAME (a glob) and --also, in one pipeline."""
    from rl_unplugged.beam import datasets as beam_datasets

    names = beam_datasets.expand([args.name, *args.also])
    for stage in beam_datasets.plan(names):  # Sources not asked for: registered size.
        for name in stage:
            check_log_size(registry.get_dataset(name), args.data_dir,
                           args.num_steps if name in names else None)
    prints = beam_datasets.build(names, args.data_dir,
                                 num_steps=args.num_steps, runner=args.runner,
                                 options=args.beam_options, scratch=args.scratch)
    for fingerprint in prints:
        print(json.dumps(fingerprint))
    return 0


def add_beam_options(p: argparse.ArgumentParser, *, what: str) -> None:
    """--beam, --runner and --beam-options (shared by `datasets build` and `evaluate`)."""
    p.add_argument("--beam", action="store_true",
                   help=f"{what} as an Apache Beam pipeline (needs `pip install apache-beam`)")
    p.add_argument("--runner", default="DirectRunner",
                   help="Beam runner: DirectRunner, DataflowRunner, FlinkRunner, SparkRunner")
    p.add_argument("--beam-options", default="",
                   help="Beam pipeline flags, one string, e.g. '--direct_num_workers=2 "
                        "--direct_running_mode=multi_processing' or '--project=P "
                        "--region=R --temp_location=gs://B/tmp'")
    p.add_argument("--scratch", default=None,
                   help="with --beam: directory where workers leave their results for the "
                        "launcher (default: a temporary directory of this machine, enough "
                        "for local runners; cluster runners need one every worker and the "
                        "launcher can reach, e.g. on a shared file system)")


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from rl_unplugged.data import conformance, summary, tfds_loader

    spec = registry.get_dataset(args.name)
    check_log_size(spec, args.data_dir, args.num_steps)
    metas: dict[str, list] = {}

    def episodes():
        for steps, meta in tfds_loader.load_episodes_tfds(spec.name, args.data_dir):
            for key, value in meta.items():
                metas.setdefault(key, []).append(value)
            yield steps, meta

    with _corrupt_records_named(spec, args.data_dir):
        report = conformance.check_dataset(episodes(), action=spec.task.action)
    metadata = {k: np.asarray(v) for k, v in metas.items()}
    stats = summary.return_statistics(metadata)
    r = stats["returns"]
    print(f"{spec.name}: {report.num_episodes:,} episodes, {report.num_steps:,} steps, "
          f"{report.num_transitions:,} transitions")
    print(f"returns: mean {r['mean']:.3f}  std {r['std']:.3f}  min {r['min']:.3f}  "
          f"max {r['max']:.3f}")
    if stats["by_checkpoint"]:
        print("by checkpoint:   ckpt  episodes      mean       std       min       max")
        for c, s in stats["by_checkpoint"].items():
            print(f"                {c:5d} {s['episodes']:9d} {s['mean']:9.3f} {s['std']:9.3f} "
                  f"{s['min']:9.3f} {s['max']:9.3f}")
    print("conformance: " + report.summary())
    if args.out:
        summary.plot_returns(metadata, args.out, spec.name)
        print(f"return plot: {args.out}")
    return 0 if report.ok else 1


def _corrupt_file(spec, data_dir) -> str | None:
    """The first of a prepared dataset's TFRecord files that fails to read, if any."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from rl_unplugged import paths

    builder = tfds.builder(spec.name, data_dir=str(paths.data_dir(data_dir)))
    for split in builder.info.splits.values():
        for path in split.filepaths:
            try:
                for _ in tf.data.TFRecordDataset(str(path)).batch(1024):
                    pass
            except tf.errors.DataLossError:
                return str(path)
    return None


@contextlib.contextmanager
def _corrupt_records_named(spec, data_dir) -> Iterator[None]:
    """TensorFlow's DataLossError (a truncated or corrupted TFRecord) as one line naming
    the file."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.DataLossError as e:
        where = _corrupt_file(spec, data_dir) or f"a TFRecord file of {spec.name}"
        raise CorruptDataError(f"{where}: corrupted or truncated record ({e.message.strip()}"
                               f"); delete the prepared dataset and run `rlu datasets build "
                               f"{spec.name}`") from None


def _verify(args: argparse.Namespace) -> int:
    from rl_unplugged.data import reference_builds

    ok, message = reference_builds.verify(args.name, args.data_dir)
    print(message)
    return 0 if ok else 1


def competence_from_references(references: dict) -> dict[str, dict]:
    """{noise0 run0 dataset: competence record} from a references document: each
    task's expert behaviour-run candidate (the greedy return, on the protocol's seeds,
    of the logged run's best checkpoint chosen on held-out seeds) against its target."""
    out = {}
    for task_id, rec in references.get("tasks", {}).items():
        task = registry.get_task(task_id)
        candidates = (rec.get("expert") or {}).get("candidates") or []
        if not candidates or task.competence is None:
            continue
        value = candidates[0]["value"]
        out[f"rlu_{task.domain}/{task.name}_noise0_run0"] = {
            "greedy_return": value, "target": task.competence.value,
            "reached": bool(value >= task.competence.value), "how": candidates[0]["how"]}
    return out


def _record(args: argparse.Namespace) -> int:
    from rl_unplugged.data import reference_builds

    competence = {}
    if args.references:
        # The references cover every task: keep the behaviour runs built under --data-dir
        # that are the runs measured (`record` would refuse another build).
        for name, c in competence_from_references(
                json.loads(Path(args.references).read_text())).items():
            local = reference_builds.local_digest(name, args.data_dir)
            if local is None:
                continue
            measured = reference_builds.measured_elsewhere(c, local)
            if measured is not None:
                print(f"{name}: competence not recorded: measured on build {measured}, "
                      f"the local build is {local[:16]}")
                continue
            competence[name] = c
    doc = reference_builds.record(args.data_dir, merge=not args.fresh, competence=competence)
    for name, build in doc["builds"].items():
        reached = build.get("competence", {}).get("reached")
        print(f"{name:42s} {build['manifest_sha256'][:16]} last10={build['last10_mean']:.4g}"
              + ("" if reached is None else f" competence={'reached' if reached else 'NOT'}"))
    return 0


def _import(args: argparse.Namespace) -> int:
    from rl_unplugged.data import imported, uri

    task = registry.get_task(args.task) if args.task else None
    source = uri.open_source(args.source, data_dir=args.data_dir, task=task, name=args.name)
    store = imported.import_source(source, args.name, args.data_dir)
    print(f"imported {source.uri} as {args.name}: {store.num_episodes:,} episodes, "
          f"{store.num_transitions:,} transitions (task {source.task.id}) in {store.directory}")
    return 0


def open_any_store(name_or_dir: str, data_dir=None):
    """(store, task) of a store directory, an imported dataset or a registered dataset.

    Raises:
      UnknownNameError: none of those (lists close registered names).
      NotFoundError: a registered dataset never built.
    """
    from rl_unplugged.data import imported, loader, store

    if (Path(name_or_dir) / store.MANIFEST).is_file():
        opened = store.open_store(name_or_dir)
    elif imported.exists(name_or_dir, data_dir):
        opened = imported.open_imported(name_or_dir, data_dir)
    else:
        opened = loader.open_dataset(registry.get_dataset(name_or_dir), data_dir)
    return opened, imported.store_task(opened)


def references(task) -> tuple[float, float] | None:
    """(random, expert) normalisation references of a registered task, if recorded."""
    from rl_unplugged.evaluation import protocols

    record = protocols.load_references().get("tasks", {}).get(task.id) or {}
    values = [(record.get(kind) or {}).get("value") for kind in ("random", "expert")]
    return None if None in values else (float(values[0]), float(values[1]))


def _export(args: argparse.Namespace) -> int:
    from rl_unplugged.data import export

    store, task = open_any_store(args.name, args.data_dir)
    fmt, target = args.to
    if fmt == "npz":
        out = export.export_npz(store, task, target)
    elif fmt == "minari":
        out = export.export_minari(store, task, target, dataset_id=args.dataset_id,
                                   references=references(task))
    elif fmt == "d3rlpy":
        out = export.export_d3rlpy(store, task, target)
    else:
        raise ConfigError(f"--to {fmt}: unknown format; use npz, minari or d3rlpy")
    print(f"exported {args.name} ({store.num_transitions:,} transitions) to {fmt}: {out}")
    return 0


def _dataset_args(p: argparse.ArgumentParser, *, needs_tensorflow: bool = True) -> None:
    p.add_argument("name", help="NAME/CONFIG, e.g. rlu_bsuite/catch_noise0_run0")
    common.data_dir_arg(p)
    p.set_defaults(needs_tensorflow=needs_tensorflow)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("datasets", help="list, build and inspect datasets")
    dsub = parser.add_subparsers(dest="datasets_command", required=True)
    p = dsub.add_parser("list", help="print the task and dataset registry")
    p.add_argument("--domain", default=None, help="only this domain")
    p.set_defaults(func=_list)

    p = dsub.add_parser("build", help="generate (or resume) a dataset's raw log, then prepare "
                                      "its tfds dataset")
    _dataset_args(p)
    p.add_argument("--num-steps", type=int, default=None,
                   help="log this many transitions instead of the registry's (tiny builds)")
    add_beam_options(p, what="build every dataset matching NAME (a glob with --beam) and --also")
    p.add_argument("--also", action="append", default=[],
                   help="with --beam: more datasets or globs in the same pipeline (repeat)")
    p.set_defaults(func=_build)

    p = dsub.add_parser("inspect", help="episodes, return statistics and conformance of a "
                                        "prepared dataset")
    _dataset_args(p)
    p.add_argument("--num-steps", type=int, default=None,
                   help="the dataset is a tiny build made with --num-steps N (else a tiny "
                        "build is refused)")
    p.add_argument("--out", default=None, help="save a return-distribution plot (PNG) here")
    p.set_defaults(func=_inspect)

    p = dsub.add_parser("verify", help="compare a local build with the recorded reference build")
    _dataset_args(p, needs_tensorflow=False)
    p.set_defaults(func=_verify)

    p = dsub.add_parser("record", help="record the complete raw logs under --data-dir as the "
                                       "reference builds (package data; the cards show them)")
    common.data_dir_arg(p)
    p.add_argument("--fresh", action="store_true",
                   help="drop recorded builds not found under --data-dir (after a generator "
                        "change)")
    p.add_argument("--references", default=None,
                   help="a references JSON (`rlu protocols references --expert`): record "
                        "each behaviour run's measured competence with its build")
    p.set_defaults(func=_record)

    p = dsub.add_parser("import", help="materialise a dataset of another format into the "
                                       "store (conformance checked, checksummed)")
    p.add_argument("source", help="tfds:NAME[/CONFIG][:SPLIT], minari:PATH_OR_ID, "
                                  "d4rl:FILE.hdf5, npz:FILE.npz or d3rlpy:FILE.h5")
    p.add_argument("--as", dest="name", required=True,
                   help="name of the imported dataset (for `rlu train --dataset NAME`)")
    p.add_argument("--task", default=None,
                   help="registered task of the data (e.g. bsuite/catch); default: the "
                        "source's own, else one read off the data (imported/<name>)")
    common.data_dir_arg(p)
    p.set_defaults(func=_import, needs_tensorflow=False)

    p = dsub.add_parser("export", help="write a dataset as npz, Minari or d3rlpy data")
    p.add_argument("name", help="registered or imported dataset name, or a store directory")
    p.add_argument("--to", nargs=2, metavar=("FORMAT", "PATH"), required=True,
                   help="npz FILE | minari DIR | d3rlpy FILE.h5")
    p.add_argument("--dataset-id", default=None,
                   help="Minari dataset id (default: the last two parts of DIR)")
    common.data_dir_arg(p)
    p.set_defaults(func=_export, needs_tensorflow=False)

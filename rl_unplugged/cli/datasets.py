"""`rlu datasets ...`: list the registry, build and inspect datasets."""

from __future__ import annotations

import argparse

from rl_unplugged import registry


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
                      str(t.max_episode_steps), str(t.num_runs), f"{t.behaviour.num_steps:,}",
                      "noise0..noise50, random, expert")
    Console(width=160).print(table)
    return 0


def build(spec, data_dir=None, *, num_steps: int | None = None):
    """Generates (with a progress bar) and prepares one dataset; returns the tfds builder."""
    from tqdm import tqdm

    from rl_unplugged import builders, generation, paths
    from rl_unplugged.data.prepare import ensure_raw_log

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
        log = ensure_raw_log(spec, root, generate=generation.generate, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"raw log: {log.directory} ({log.num_episodes:,} episodes, "
          f"{log.num_transitions:,} transitions)")
    builder = builders.builder(spec.name, root, num_steps=num_steps)
    builder.download_and_prepare()
    print(f"prepared {spec.name}: {builder.data_dir}")
    return builder


def _build(args: argparse.Namespace) -> int:
    build(registry.get_dataset(args.name), args.data_dir, num_steps=args.num_steps)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from rl_unplugged.data import conformance, summary, tfds_loader

    spec = registry.get_dataset(args.name)
    metas: dict[str, list] = {}

    def episodes():
        for steps, meta in tfds_loader.load_episodes_tfds(spec.name, args.data_dir):
            for key, value in meta.items():
                metas.setdefault(key, []).append(value)
            yield steps, meta

    report = conformance.check_dataset(episodes(), num_actions=spec.task.num_actions)
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


def _verify(args: argparse.Namespace) -> int:
    from rl_unplugged.data import reference_builds

    ok, message = reference_builds.verify(args.name, args.data_dir)
    print(message)
    return 0 if ok else 1


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="NAME/CONFIG, e.g. rlu_bsuite/catch_noise0_run0")
    p.add_argument("--data-dir", default=None,
                   help="data root (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")


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
    p.set_defaults(func=_build)

    p = dsub.add_parser("inspect", help="episodes, return statistics and conformance of a "
                                        "prepared dataset")
    _dataset_args(p)
    p.add_argument("--out", default=None, help="save a return-distribution plot (PNG) here")
    p.set_defaults(func=_inspect)

    p = dsub.add_parser("verify", help="compare a local build with the recorded reference build")
    _dataset_args(p)
    p.set_defaults(func=_verify)

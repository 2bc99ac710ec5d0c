"""`rlu baselines run CONFIG...`: train, evaluate and submit the suite's baseline entries."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rl_unplugged import fileio
from rl_unplugged.cli import common
from rl_unplugged.errors import ConfigError


def _run(args: argparse.Namespace) -> int:
    from rl_unplugged import baselines
    from rl_unplugged.leaderboard import board

    configs = [(Path(p).stem, baselines.BaselineConfig.from_json(p)) for p in args.configs]
    tasks = [t for t in args.tasks.split(",") if t] if args.tasks else None
    for stem, cfg in configs:  # Every config validated before any work.
        out = Path(args.out) / stem
        if baselines.run(cfg, out, data_dir=args.data_dir, progress=True, log=print,
                         tasks=tasks) is None:
            continue  # Tasks pending (said by run): nothing to record or submit yet.
        if args.results:
            dest = Path(args.results) / stem
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(out / "results", dest)
            shutil.copy(out / "submission.json", dest / "submission.json")
            for adopted in sorted(out.glob(f"*/{baselines.ADOPTED}")):  # Their provenance.
                shutil.copy(adopted, dest / f"{adopted.parent.name}-{baselines.ADOPTED}")
            print(f"recorded {dest}")
        if args.submit:
            print(f"submitted {board.submit(out / 'submission.json', args.submit)}")
    return 0


def _adopt(args: argparse.Namespace) -> int:
    from rl_unplugged import baselines

    records = {}
    for path in args.records:
        seed = baselines.record_seed(path)
        if seed in records:
            raise ConfigError(f"{path}: a second record for seed {seed}")
        records[seed] = path
    cfg = baselines.BaselineConfig.from_json(args.config)
    out = baselines.adopt(cfg, Path(args.out) / Path(args.config).stem, args.task, records,
                          source=args.source)
    print(f"adopted {len(records)} records of {args.task} into {out}")
    return 0


def _record(study: dict, path: str | None) -> None:
    """Writes a study's JSON to `path` (if given), saying so."""
    import json

    if path:
        fileio.write_text(path, json.dumps(study, indent=1) + "\n")
        print(f"recorded {path}")


def _narrow(args: argparse.Namespace) -> int:
    import json

    from rl_unplugged import baselines

    learners = {"dqn": ("dqn", {"hidden": args.hidden}),
                **{f"cql_alpha{a:g}": ("cql", {"hidden": args.hidden, "alpha": a})
                   for a in args.alphas}}
    study = baselines.narrow_data_study(
        args.dataset, fraction=args.fraction, learners=learners, steps=args.steps,
        seeds=tuple(range(args.seeds)), out_dir=args.out, data_dir=args.data_dir, log=print)
    _record(study, args.record)
    print(json.dumps(study, indent=1))
    return 0


SCIENCE_DATASETS = ("rlu_classic/cartpole_noise0_run0", "rlu_classic/acrobot_noise0_run0",
                    "rlu_bsuite/cartpole_noise0_run0")


def _science(args: argparse.Namespace) -> int:
    import json

    from rl_unplugged import baselines

    datasets = args.dataset or list(SCIENCE_DATASETS)
    fractions = args.fraction or [0.01, 0.05]
    study = baselines.science_check(
        datasets, fractions, alpha=args.alpha, steps=args.steps,
        seeds=tuple(range(args.seeds)), out_dir=args.out, hidden=args.hidden,
        data_dir=args.data_dir, log=print)
    _record(study, args.record)
    print(json.dumps(study["overall"]))
    return 0


def _sanity(args: argparse.Namespace) -> int:
    import json

    from rl_unplugged import baselines

    names = (args.learners or ",".join(baselines.SANITY_LEARNERS)).split(",")
    unknown = sorted(set(names) - set(baselines.SANITY_LEARNERS))
    if unknown:
        raise ConfigError(f"--learners: unknown {', '.join(unknown)}; known: "
                          f"{', '.join(baselines.SANITY_LEARNERS)}")
    study = baselines.sanity_check(args.dataset, steps=args.steps,
                                   seeds=tuple(range(args.seeds)), out_dir=args.out,
                                   learners={n: baselines.SANITY_LEARNERS[n] for n in names},
                                   data_dir=args.data_dir, log=print)
    _record(study, args.record)
    print(json.dumps(study["verdicts"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baselines", help="run the baseline configs (train, evaluate, submit)")
    bsub = p.add_subparsers(dest="baselines_command", required=True)
    q = bsub.add_parser("run", help="run baseline configs (JSON, see baselines/configs)")
    q.add_argument("configs", nargs="+", help="baseline config files")
    q.add_argument("--out", default="runs/baselines", help="run directories")
    common.data_dir_arg(q)
    q.add_argument("--results", default=None,
                   help="copy evaluation records and the submission here (e.g. baselines/results)")
    q.add_argument("--submit", default=None, help="board root to submit to (e.g. evaluation)")
    q.add_argument("--tasks", default=None,
                   help="comma-separated task ids: run only these (others reused if done, "
                        "else pending); share a track over processes, then run once "
                        "without --tasks to assemble the submission")
    q.set_defaults(func=_run)
    q = bsub.add_parser("adopt", help="take one task's records, trained elsewhere (another "
                                      "machine, or missing seeds run apart), into a run's "
                                      "out dir; then `run` reuses the task")
    q.add_argument("config", help="the baseline config the records were trained with")
    q.add_argument("records", nargs="+", help="evaluation records, named <task>-seed<N>.json")
    q.add_argument("--task", required=True, help="their task id")
    q.add_argument("--source", required=True,
                   help="where and how they were trained (kept in the task's adopted.json)")
    q.add_argument("--out", default="runs/baselines", help="run directories (as for run)")
    q.set_defaults(func=_adopt)
    q = bsub.add_parser("narrow", help="science check: DQN vs CQL on a small subsample")
    q.add_argument("--dataset", default="rlu_classic/cartpole_noise0_run0")
    q.add_argument("--fraction", type=float, default=0.05, help="share of transitions kept")
    q.add_argument("--steps", type=int, default=20_000)
    q.add_argument("--seeds", type=int, default=5)
    q.add_argument("--alphas", type=float, nargs="+", default=[1.0, 4.0])
    q.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    q.add_argument("--out", default="runs/narrow")
    common.data_dir_arg(q)
    q.add_argument("--record", default=None, help="write the JSON result here")
    q.set_defaults(func=_narrow)
    q = bsub.add_parser("science", help="science check: P(CQL > DQN) on 1%% and 5%% "
                                        "subsamples of several tasks (issue 8)")
    q.add_argument("--dataset", action="append", default=None,
                   help="a dataset (repeat); default: classic cartpole, classic acrobot, "
                        "bsuite cartpole noise0 run0")
    q.add_argument("--fraction", type=float, action="append", default=None,
                   help="share of transitions kept (repeat); default 0.01 and 0.05")
    q.add_argument("--steps", type=int, default=10_000)
    q.add_argument("--seeds", type=int, default=10)
    q.add_argument("--alpha", type=float, default=1.0)
    q.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    q.add_argument("--out", default="runs/science")
    common.data_dir_arg(q)
    q.add_argument("--record", default=None, help="write the JSON result here")
    q.set_defaults(func=_science)
    q = bsub.add_parser("sanity", help="continuous sanity check: TD3+BC, IQL and CQL(SAC) "
                                       "vs BC on a medium-replay dataset (issue 10)")
    q.add_argument("--dataset", default="rlu_control/cartpole_swingup_medium_replay_run0")
    q.add_argument("--steps", type=int, default=20_000)
    q.add_argument("--seeds", type=int, default=5)
    q.add_argument("--learners", default=None,
                   help="comma-separated, 'bc' among them (default: every learner of "
                        "baselines.SANITY_LEARNERS)")
    q.add_argument("--out", default="runs/sanity")
    common.data_dir_arg(q)
    q.add_argument("--record", default=None, help="write the JSON result here")
    q.set_defaults(func=_sanity)

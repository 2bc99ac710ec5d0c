"""`rlu evaluate ...` and `rlu protocols ...`: run policies under frozen protocols."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from rl_unplugged import fileio, registry
from rl_unplugged.cli import common
from rl_unplugged.cli.datasets import add_beam_options
from rl_unplugged.errors import ConfigError, NotFoundError
from rl_unplugged.evaluation import evaluator, references
from rl_unplugged.evaluation import protocols as protocols_lib


def load_callable(spec: str):
    """The object named by 'MODULE:ATTR' (ATTR may be dotted).

    The working directory is put on `sys.path` for this import only, so a policy module
    is found from its own directory, as `python -c "import module"` would find it.

    Raises:
      ConfigError: malformed spec, or ATTR is missing or not callable.
      NotFoundError: MODULE cannot be found.
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"--policy must be MODULE:ATTRIBUTE, got {spec!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or not module.startswith(e.name):
            raise  # The module exists but imports something missing: its own problem.
        raise NotFoundError(f"--policy {spec}: no module named {e.name!r} (looked in {cwd} "
                            "and on sys.path)") from None
    finally:
        if added:
            sys.path.remove(cwd)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"--policy {spec}: {module} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"--policy {spec}: not callable")
    return obj


def _evaluate_with_beam(args: argparse.Namespace, protocol, datasets) -> dict:
    """`evaluate --beam`: the protocol's episodes as (candidate x seed block) elements."""
    from rl_unplugged.beam import evaluation as beam_evaluation

    if args.run_dir is None:
        raise ConfigError("--beam evaluates run directories: give --run-dir")
    candidate = {"run_dir": args.run_dir, "member": args.member, "checkpoint": args.checkpoint}
    [result] = beam_evaluation.evaluate(
        [candidate], protocol, block=args.seed_block, runner=args.runner,
        options=args.beam_options, scratch=args.scratch, num_envs=args.num_envs,
        selection=args.selection,
        selection_name=args.selection_name, datasets=datasets,
        policy_source=evaluator.run_policy_source(args.run_dir, args.member, args.checkpoint))
    return result


def add_evaluation_beam_options(p: argparse.ArgumentParser) -> None:
    """`evaluate`'s Beam fan-out options."""
    add_beam_options(p, what="play the episodes (candidate x seed block)")
    p.add_argument("--seed-block", type=int, default=10,
                   help="with --beam: episode seeds per pipeline element")


def _evaluate(args: argparse.Namespace) -> int:
    protocol = protocols_lib.get_protocol(args.task)
    if (args.run_dir is None) == (args.policy is None):
        raise ConfigError("give exactly one of --run-dir and --policy")
    datasets = _datasets(args.dataset)
    if getattr(args, "beam", False):
        result = _evaluate_with_beam(args, protocol, datasets)
        evaluator.save_result(result, args.out)
        print(json.dumps({"task": result["task"], "episodes": len(result["returns"]),
                          "mean_return": result["mean_return"], "out": str(args.out)}))
        return 0
    if args.run_dir is not None:
        policy = evaluator.load_run_policy(args.run_dir, member=args.member,
                                           checkpoint=args.checkpoint)
        source = evaluator.run_policy_source(args.run_dir, args.member, args.checkpoint)
    else:
        policy, source = load_callable(args.policy), f"callable:{args.policy}"
    result = evaluator.evaluate(policy, protocol, selection=args.selection,
                                selection_name=args.selection_name, datasets=datasets,
                                policy_source=source, num_envs=args.num_envs)
    evaluator.save_result(result, args.out)
    print(json.dumps({"task": result["task"], "protocol": result["protocol"]["hash"][:12],
                      "episodes": len(result["returns"]), "mean_return": result["mean_return"],
                      "steps": result["steps"], "seconds": round(result["seconds"], 2),
                      "out": str(args.out)}))
    return 0


def _datasets(items: list[str]) -> dict[str, str | None]:
    """--dataset NAME[:VERSION] (repeated) as {name: version or None}."""
    out = {}
    for item in items:
        name, _, version = item.partition(":")
        out[name] = version or None
    return out


def _steps(text: str | None, what: str) -> list[int] | None:
    """'all' or None -> None; '20000,40000' -> [20000, 40000]."""
    if text is None or text == "all":
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--{what} must be 'all' or comma-separated integers, got {text!r}"
                          ) from None


def _curve(args: argparse.Namespace) -> int:
    from rl_unplugged.evaluation import curves

    protocol = protocols_lib.get_protocol(args.task)
    datasets = _datasets(args.dataset) if args.dataset else None
    evaluate_many = None
    if args.beam:
        from rl_unplugged.beam import evaluation as beam_evaluation

        def evaluate_many(candidates, ds):
            return beam_evaluation.evaluate(
                candidates, protocol, block=args.seed_block, runner=args.runner,
                options=args.beam_options, scratch=args.scratch, num_envs=args.num_envs,
                datasets=ds)

    curve = curves.evaluate_runs(args.run_dir, protocol, args.out,
                                 checkpoints=_steps(args.checkpoints, "checkpoints"),
                                 members=_steps(args.members, "members"), datasets=datasets,
                                 num_envs=args.num_envs, evaluate_many=evaluate_many,
                                 progress=lambda line: print(line, flush=True))
    if not args.no_plot:
        curves.plot(curve, Path(args.out) / curves.PLOT_FILE)
    for label, run in curve["runs"].items():
        for step, row in sorted(run["checkpoints"].items(), key=lambda kv: int(kv[0])):
            norm = row["normalised_mean"]
            print(f"{label:16s} {int(step):>9d}  {row['mean']:10.2f} +- {row['std']:.2f}"
                  + (f"  ({norm:.3f})" if norm is not None else ""))
    print(f"wrote {Path(args.out) / curves.CURVE_FILE}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for p in protocols_lib.all_protocols().values():
        refs = p.references
        print(f"{p.task_id:26s} v{p.version} {p.hash[:12]}  episodes={p.num_episodes} "
              f"epsilon={p.epsilon} random={refs['random'].get('value')} "
              f"expert={refs['expert'].get('value')}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from rl_unplugged.evaluation import docs
    from rl_unplugged.leaderboard import docs as submission_docs

    written = docs.render_protocol_docs(Path(args.out))
    written += submission_docs.render_submission_docs(Path(args.out))
    print(f"wrote {len(written)} files under {args.out}")
    return 0


def _references(args: argparse.Namespace) -> int:
    if args.long_run_as_is and (not args.expert or args.no_long_run):
        raise ConfigError("--long-run-as-is measures the long run of --expert: give it with "
                          "--expert and without --no-long-run")
    if args.behaviour_as_recorded and (not args.expert or args.no_long_run):
        raise ConfigError("--behaviour-as-recorded reuses the behaviour run's recorded "
                          "candidate beside a measured long run: give it with --expert and "
                          "without --no-long-run")
    out = Path(args.out)
    existing = json.loads(out.read_text()) if out.exists() else None
    if args.expert:
        # Expert values only, one task at a time, saved after each (builds take minutes).
        for task_id in args.task or [t.id for t in registry.tasks() if t.builds_datasets]:
            record = references.measure_expert_reference(task_id, args.data_dir,
                                                         num_envs=args.num_envs,
                                                         long_run=not args.no_long_run,
                                                         long_run_as_is=args.long_run_as_is,
                                                         behaviour_as_recorded=args
                                                         .behaviour_as_recorded)
            existing = references.record_references(out, tasks=[], existing=existing,
                                                    expert={task_id: record})
            print(f"{task_id:26s} expert={record['value']:.4g}", flush=True)
        doc = existing
    else:
        doc = references.record_references(out, tasks=args.task or None, existing=existing,
                                           num_envs=args.num_envs)
    for task_id, rec in doc["tasks"].items():
        print(f"{task_id:26s} random={rec['random'] and rec['random']['value']} "
              f"expert={rec['expert'].get('value')} ({rec['expert'].get('status')})")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from rl_unplugged.evaluation import evaluator

    records = [(Path(f), evaluator.rescore(evaluator.load_result(f))) for f in args.files]
    for path, record in records:  # Every file checked before any is written.
        evaluator.save_result(record, path)
        print(f"{path}: protocol {record['protocol']['hash'][:12]}"
              + (f" (was {record['rescored_from']['hash'][:12]})"
                 if "rescored_from" in record else " (already current)"))
    return 0


def _freeze(args: argparse.Namespace) -> int:
    refs = protocols_lib.load_references(args.references)
    text = protocols_lib.protocols_to_json(protocols_lib.derive_protocols(refs))
    fileio.write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    data_dir = Path(protocols_lib.__file__).parent / "data"
    p = sub.add_parser("evaluate", help="evaluate a policy under a task's frozen protocol")
    p.add_argument("--task", required=True, help="task id, e.g. bsuite/catch")
    p.add_argument("--run-dir", default=None, help="a learner run directory")
    p.add_argument("--member", type=int,
                   default=common.library_default(evaluator.load_run_policy, "member"),
                   help="ensemble member of the run (default %(default)s)")
    p.add_argument("--checkpoint", type=int, default=None, help="checkpoint (default: final)")
    p.add_argument("--policy", default=None,
                   help="MODULE:ATTR of a batched policy obs (B, ...) -> actions (B,)")
    p.add_argument("--selection", choices=protocols_lib.SELECTION_METHODS,
                   default=common.library_default(evaluator.evaluate, "selection"),
                   help="how the checkpoint was chosen (default %(default)s)")
    p.add_argument("--selection-name", default=None, help="offline selection method name")
    p.add_argument("--dataset", action="append", default=[],
                   help="training dataset NAME[:VERSION] (repeat)")
    p.add_argument("--num-envs", type=int,
                   default=common.library_default(evaluator.evaluate, "num_envs"),
                   help="parallel environments (default %(default)s)")
    p.add_argument("--out", required=True, help="results JSON file")
    add_evaluation_beam_options(p)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("curve", help="a learning curve: evaluate every checkpoint and member of "
                       "learner runs under a task's protocol (resumes; writes curve.json)")
    p.add_argument("--task", required=True, help="task id, e.g. control/cheetah_run")
    p.add_argument("--run-dir", action="append", required=True,
                   help="a learner run directory (repeat to compare runs on the same data)")
    p.add_argument("--checkpoints", default="all",
                   help="checkpoint steps, comma-separated, or 'all' (default)")
    p.add_argument("--members", default="all",
                   help="ensemble members, comma-separated, or 'all' (default)")
    p.add_argument("--dataset", action="append", default=[],
                   help="training dataset NAME[:VERSION] to record (repeat; default: each "
                        "run's own)")
    p.add_argument("--num-envs", type=int,
                   default=common.library_default(evaluator.evaluate, "num_envs"),
                   help="parallel environments (default %(default)s)")
    p.add_argument("--no-plot", action="store_true", help="do not write curve.png")
    p.add_argument("--out", required=True,
                   help="directory for the per-(checkpoint, member) records and curve.json")
    add_evaluation_beam_options(p)
    p.set_defaults(func=_curve)

    p = sub.add_parser("protocols", help="list, render, measure and freeze protocols")
    psub = p.add_subparsers(dest="protocols_command", required=True)
    q = psub.add_parser("list", help="print every frozen protocol")
    q.set_defaults(func=_list)
    q = psub.add_parser("render", help="write the protocol docs (Markdown + JSON)")
    q.add_argument("--out", default=common.BOARD_ROOT, help="board root (default ./%(default)s)")
    q.set_defaults(func=_render)
    q = psub.add_parser("references", help="measure the random (or, with --expert, the "
                                           "expert) references into a JSON file")
    q.add_argument("--expert", action="store_true",
                   help="measure expert references: the better of the noise0 run0 behaviour "
                        "run's and a twice-as-long run's greedy best checkpoints (builds "
                        "both under --data-dir if missing)")
    q.add_argument("--long-run-as-is", action="store_true",
                   help="with --expert: measure the long run's existing log as far as it ran "
                        "(its generation config checked; not resumed; the record says how far)")
    q.add_argument("--behaviour-as-recorded", action="store_true",
                   help="with --expert: take the behaviour run's candidate from the recorded "
                        "expert reference (the record says so) instead of building and "
                        "measuring the behaviour run again; only the long run is measured")
    q.add_argument("--no-long-run", action="store_true",
                   help="with --expert: measure only the behaviour run's best checkpoint, "
                        "not also a separately trained run twice as long (the record says so)")
    common.data_dir_arg(q)
    q.add_argument("--out", default=str(data_dir / protocols_lib.REFERENCES_FILE))
    q.add_argument("--task", action="append", default=[], help="only these tasks (repeat)")
    q.add_argument("--num-envs", type=int,
                   default=common.library_default(references.record_references, "num_envs"),
                   help="parallel environments (default %(default)s)")
    q.set_defaults(func=_references)
    q = psub.add_parser("freeze", help="derive protocols from registry + references")
    q.add_argument("--references", default=None, help="references JSON (default: package)")
    q.add_argument("--out", default=str(data_dir / protocols_lib.PROTOCOLS_FILE))
    q.set_defaults(func=_freeze)
    q = psub.add_parser("rescore", help="stamp results records with their task's current "
                        "protocol when only its references changed (same settings_hash); "
                        "rewrites the files, keeping the old hash under rescored_from")
    q.add_argument("files", nargs="+", help="evaluation result JSON files")
    q.set_defaults(func=_rescore)

"""`rlu train ALGO --dataset NAME/CONFIG --steps N --seeds S [--grid k=v1,v2] --out RUN_DIR`."""

from __future__ import annotations

import argparse
import ast
import json
import sys
from typing import Any


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # A bare word, e.g. base=qrdqn.


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
        if key in out:
            raise ValueError(f"{flag} {key} given twice")
        out[key] = value
    return out


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """['hidden=64,64', 'alpha=4'] -> {'hidden': (64, 64), 'alpha': 4}."""
    out = {}
    for key, value in _pairs(items, "--set").items():
        parsed = _value(value)
        out[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """['alpha=0.5,1,4'] -> {'alpha': [0.5, 1, 4]}."""
    return {k: [_value(v) for v in value.split(",")]
            for k, value in _pairs(items, "--grid").items()}


def parse_seeds(text: str) -> list[int]:
    """'3' -> [0, 1, 2]; '0,5,7' -> [0, 5, 7]."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--seeds expects a count or a comma list of ints, got {text!r}") from None
    if len(values) == 1:
        if values[0] <= 0:
            raise ValueError(f"--seeds count must be > 0, got {values[0]}")
        return list(range(values[0]))
    return values


def _train(args: argparse.Namespace) -> int:
    from rl_unplugged import agents, registry, training
    from rl_unplugged.data import loader

    spec = agents.get_agent(args.algo)  # Fails fast, before loading data.
    config = agents.make_config(spec, **parse_overrides(args.set))
    grid = parse_grid(args.grid)
    dataset = registry.get_dataset(args.dataset)
    data = loader.load_transitions(dataset, args.data_dir)
    try:
        result = training.train(
            spec, data, dataset.task, config=config, steps=args.steps,
            seeds=parse_seeds(args.seeds), grid=grid, out_dir=args.out, dataset=dataset.name,
            log_every=args.log_every, probe_every=args.probe_every or None,
            checkpoint_every=args.checkpoint_every or None, resume=not args.no_resume,
            progress=not args.no_progress)
    except training.NonFiniteLossError as e:
        print(f"rlu: error: {e} (see {args.out}/failure.json)", file=sys.stderr)
        return 3
    last = {}
    for row in result.metrics:
        last[row["member"]] = row
    rate = result.updates_per_s  # None for a run of one chunk (no steady-state timing).
    summary = {"run_dir": str(result.run_dir), "members": len(result.members),
               "updates_per_s_per_member": None if rate is None else round(rate, 1),
               "final_loss": {m: round(r["loss"], 6) for m, r in sorted(last.items())}}
    print(json.dumps(summary))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train offline learners on a dataset",
                       description="Train an ensemble (seeds x grid) of offline learners.")
    p.add_argument("algo", help="registered algorithm, e.g. bc, dqn, qrdqn, cql, cql_qrdqn "
                   "(an unknown name lists them all)")
    p.add_argument("--dataset", required=True,
                   help="NAME/CONFIG, e.g. rlu_bsuite/catch_noise0_run0")
    p.add_argument("--data-dir", default=None, help="data root (default $TFDS_DATA_DIR)")
    p.add_argument("--steps", type=int, required=True, help="updates per member")
    p.add_argument("--seeds", default="1", help="a count (3 = seeds 0,1,2) or a list (0,5,7)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="sweep a hyperparameter inside the vmapped ensemble (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. hidden=64,64 or alpha=4 (repeatable)")
    p.add_argument("--out", required=True, help="run directory (resumed if it exists)")
    p.add_argument("--log-every", type=int, default=1_000, help="updates fused per call")
    p.add_argument("--probe-every", type=int, default=5_000, help="0: no probes")
    p.add_argument("--checkpoint-every", type=int, default=10_000, help="0: only at the end")
    p.add_argument("--no-resume", action="store_true", help="fail if --out holds a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

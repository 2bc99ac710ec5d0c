"""`rlu train ALGO --dataset NAME/CONFIG --steps N --seeds S [--grid k=v1,v2] --out RUN_DIR`."""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

from rl_unplugged.cli import common
from rl_unplugged.errors import ConfigError


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # A bare word, e.g. base=qrdqn.


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{flag} expects KEY=VALUE, got {item!r}")
        if key in out:
            raise ConfigError(f"{flag} {key} given twice")
        out[key] = value
    return out


def parse_value(text: str, kind: Any, *, name: str, flag: str) -> Any:
    """`text` as a value of type `kind` (a config field's annotation).

    Raises:
      ConfigError: `text` is not a `kind` (or not finite for a float); names the field.
    """
    def bad(what: str) -> ConfigError:
        return ConfigError(f"{flag} {name}={text}: {name} must be {what}")

    value = text.strip()
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value.casefold() == "none" and len(options) < len(typing.get_args(kind)):
            return None
        if len(options) != 1:
            return _literal(value)
        kind = options[0]
    if kind is bool:
        if value.casefold() in ("true", "false"):
            return value.casefold() == "true"
        raise bad("true or false")
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise bad("an integer") from None
    if kind is float:
        try:
            number = float(value)
        except ValueError:
            raise bad("a number") from None
        if not math.isfinite(number):
            raise bad("a finite number")
        return number
    if kind is str:
        return value
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0] if typing.get_args(kind) else str
        return tuple(parse_value(v, item, name=name, flag=flag) for v in value.split(","))
    return _literal(value)


def _field_types(config_cls: type | None) -> Mapping[str, Any]:
    return {} if config_cls is None else typing.get_type_hints(config_cls)


def parse_overrides(items: list[str], config_cls: type | None = None) -> dict[str, Any]:
    """['hidden=64,64', 'alpha=4'] -> {'hidden': (64, 64), 'alpha': 4.0}.

    Values are parsed to the type of `config_cls`'s field of that name; unknown names
    keep their literal value (the agent's registry then names the valid ones).
    """
    types_ = _field_types(config_cls)
    out = {}
    for key, value in _pairs(items, "--set").items():
        if key in types_:
            out[key] = parse_value(value, types_[key], name=key, flag="--set")
        else:
            parsed = _literal(value)
            out[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def parse_grid(items: list[str], config_cls: type | None = None) -> dict[str, list[Any]]:
    """['alpha=0.5,1,4'] -> {'alpha': [0.5, 1.0, 4.0]} (typed like `parse_overrides`)."""
    types_ = _field_types(config_cls)
    out = {}
    for key, value in _pairs(items, "--grid").items():
        if key in types_:
            out[key] = [parse_value(v, types_[key], name=key, flag="--grid")
                        for v in value.split(",")]
        else:
            out[key] = [_literal(v) for v in value.split(",")]
    return out


def parse_seeds(text: str) -> list[int]:
    """'3' -> [0, 1, 2]; '0,5,7' -> [0, 5, 7]."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds expects a count or a comma list of ints, got {text!r}"
                          ) from None
    if len(values) == 1:
        if values[0] <= 0:
            raise ConfigError(f"--seeds count must be > 0, got {values[0]}")
        return list(range(values[0]))
    return values


def _finite(value: float | None, digits: int) -> float | None:
    """A float for JSON: rounded, or None (null) when unknown, NaN or infinite."""
    return round(value, digits) if value is not None and math.isfinite(value) else None


def _train(args: argparse.Namespace) -> int:
    from rl_unplugged import agents, registry, training
    from rl_unplugged.cli.datasets import check_log_size
    from rl_unplugged.data import imported, loader
    from rl_unplugged.training import ensemble

    spec = agents.get_agent(args.algo)  # Fails fast, before loading data.
    seeds = None if args.seeds is None else parse_seeds(args.seeds)
    with common.as_config_error("--set"):
        config = agents.make_config(spec, **parse_overrides(args.set, spec.config_cls))
    grid = parse_grid(args.grid, spec.config_cls)
    with common.as_config_error("--grid"):
        ensemble.validate_grid(spec, config, grid)
        ensemble.make_members(config, seeds or [0], grid)  # Validates every grid point.
    if imported.exists(args.dataset, args.data_dir):  # `rlu datasets import ... --as NAME`.
        store = imported.open_imported(args.dataset, args.data_dir)
        name, task = args.dataset, imported.store_task(store)
        training.check_action_kind(spec, task, name)  # Before the data are read.
        data = store.transitions()
    else:
        dataset = registry.get_dataset(args.dataset)
        name, task = dataset.name, dataset.task
        training.check_action_kind(spec, task, name)  # Before the data are read.
        check_log_size(dataset, args.data_dir, args.num_steps)
        data = loader.load_transitions(dataset, args.data_dir)
    every = {k: (v or None) if k != "log_every" else v
             for k, v in common.given(args, "log_every", "probe_every",
                                      "checkpoint_every").items()}
    if seeds is not None:
        every["seeds"] = seeds
    try:
        result = training.train(
            spec, data, task, config=config, steps=args.steps, grid=grid,
            out_dir=args.out, dataset=name, resume=not args.no_resume,
            progress=not args.no_progress, **every)
    except training.NonFiniteLossError as e:
        print(f"rlu: error: {e} (see {args.out}/failure.json)", file=sys.stderr)
        return 3
    last = {}
    for row in result.metrics:
        last[row["member"]] = row
    # A resumed run that was already finished made no timed call: its rate is unknown
    # (null), never a bare NaN, which is not JSON.
    summary = {"run_dir": str(result.run_dir), "members": len(result.members),
               "updates_per_s_per_member": _finite(result.updates_per_s, 1),
               "final_loss": {m: _finite(r["loss"], 6) for m, r in sorted(last.items())}}
    print(json.dumps(summary, allow_nan=False))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train offline learners on a dataset",
                       description="Train an ensemble (seeds x grid) of offline learners. "
                                   "Options left out take rl_unplugged.training.train's "
                                   "defaults.")
    p.add_argument("algo", help="registered algorithm, e.g. bc, dqn, qrdqn, cql, cql_qrdqn "
                   "(an unknown name lists them all)")
    p.add_argument("--dataset", required=True,
                   help="NAME/CONFIG, e.g. rlu_bsuite/catch_noise0_run0")
    common.data_dir_arg(p)
    p.add_argument("--num-steps", type=int, default=None,
                   help="the dataset is a tiny build made with `rlu datasets build "
                        "--num-steps N` (else a tiny build is refused)")
    p.add_argument("--steps", type=int, required=True, help="updates per member")
    p.add_argument("--seeds", default=None,
                   help="a count (3 = seeds 0,1,2) or a list (0,5,7); default: seed 0")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="sweep a hyperparameter inside the vmapped ensemble (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. hidden=64,64 or alpha=4 (repeatable)")
    p.add_argument("--out", required=True, help="run directory (resumed if it exists)")
    p.add_argument("--log-every", type=int, default=None, help="updates fused per call")
    p.add_argument("--probe-every", type=int, default=None, help="0: no probes")
    p.add_argument("--checkpoint-every", type=int, default=None, help="0: only at the end")
    p.add_argument("--no-resume", action="store_true", help="fail if --out holds a run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

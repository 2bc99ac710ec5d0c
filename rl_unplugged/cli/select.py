"""`rlu select`: offline model selection studies.

  rlu select toy --x 0.6 --seeds 8 --json
      the SBV paper's toy environment: prints one JSON object whose `spearman` maps each
      criterion to its mean Spearman correlation with the true values.
  rlu select mhealth --seeds 8 --json
      the same study on the paper's mHealth environment (Luckett et al. 2020).
  rlu select --pool POOL --criteria td,sbv,fqe,wis,srank --out DIR
      scores a stored candidate pool (`rl_unplugged.selection.pool`) and writes the
      per-candidate table (Parquet and CSV), the metrics (JSON) and the plots.
"""

from __future__ import annotations

import argparse
import json
import math

from rl_unplugged.cli import common
from rl_unplugged.errors import ConfigError


def _criteria(text: str) -> tuple[str, ...]:
    from rl_unplugged.selection import criteria

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for n in names:
        criteria.get(n)  # UnknownNameError lists the known ones.
    if not names:
        raise ConfigError("--criteria: name at least one criterion")
    return names


def _select(args: argparse.Namespace) -> int:
    if args.target in ("toy", "mhealth"):
        from rl_unplugged.selection import mhealth, toy, toy_study

        if args.pool is not None:
            raise ConfigError(f"--pool: give either `{args.target}` or --pool, not both")
        names = _criteria(args.criteria or ",".join(toy_study.DEFAULT_CRITERIA))
        if args.seeds < 1:
            raise ConfigError("--seeds must be >= 1")
        if args.target == "toy":
            x = 0.6 if args.x is None else args.x
            task, rollouts = toy.ToyTask(x=x), args.rollouts or 2000
        else:
            if args.x is not None:
                raise ConfigError("--x: only the toy environment has the parameter x")
            task, rollouts = mhealth.MHealthTask(), args.rollouts or 1000
        out = toy_study.run(task, args.seeds, names, rollouts=rollouts,
                            bootstrap_samples=args.bootstrap_samples)
        if args.json:
            print(json.dumps(json_safe(out), allow_nan=False))
        else:
            for k in names:
                lo, hi = out["spearman_ci"][k]
                print(f"{k:8s} spearman {out['spearman'][k]:+.3f} [{lo:+.3f}, {hi:+.3f}]  "
                      f"regret@1 {out['regret_at_1'][k]:.3f}")
        return 0
    if args.pool is None:
        raise ConfigError("give `toy`, `mhealth` or --pool POOL")
    if args.out is None:
        raise ConfigError("--out: a study needs an output directory")
    from rl_unplugged.selection import study

    names = _criteria(args.criteria or "td,sbv,fqe,wis,srank")
    summary = study.run_study(args.pool, names, args.out, seed=args.seed, data_dir=args.data_dir,
                              bootstrap_samples=args.bootstrap_samples)
    if args.json:
        print(json.dumps(json_safe(summary), allow_nan=False))
    else:
        rho = {k: v["spearman"]["mean"] for k, v in summary["metrics"].items()}
        print(f"wrote {args.out}: " + ", ".join(
            f"{k} spearman {'n/a' if r is None else f'{r:+.3f}'}" for k, r in rho.items()))
    return 0


def json_safe(value):
    """NaN and infinities become null (strict JSON); containers are walked."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help="offline model selection: rank candidates from data "
                                      "alone and score the ranking against true returns")
    p.add_argument("target", nargs="?", choices=["toy", "mhealth"], default=None,
                   help="'toy' or 'mhealth': the SBV paper's synthetic environments")
    p.add_argument("--pool", default=None, help="a candidate pool directory")
    p.add_argument("--criteria", default=None,
                   help="comma-separated criteria (td, sbv, fqe, wis, dr, srank, erank, "
                        "dormant)")
    p.add_argument("--out", default=None, help="output directory of a pool study")
    p.add_argument("--x", type=float, default=None,
                   help="toy: the parameter x in [0.5, 0.75] (default 0.6)")
    p.add_argument("--seeds", type=int, default=8, help="toy/mhealth: number of seeds")
    p.add_argument("--rollouts", type=int, default=None,
                   help="toy/mhealth: Monte-Carlo rollouts per true value (default: 2000 "
                        "toy, 1000 mhealth, the paper's)")
    p.add_argument("--seed", type=int, default=0, help="pool: seed of the episode split")
    p.add_argument("--bootstrap-samples", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    common.data_dir_arg(p)
    p.set_defaults(func=_select)

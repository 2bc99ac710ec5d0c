"""The toy study's TD-versus-SBV comparison among the converged fits only (`toy.md`).

Re-runs `toy_study.run_seed` with the criteria td and sbv (the same seeds, so the same
data, candidates and true values as `rlu select toy`) and reports per x the mean Spearman
correlation of each over the candidates whose TD error and SBV are both finite, i.e.
without the diverged FQI fits that `toy_study` ties last.

    PYTHONPATH=. python baselines/selection/toy_converged.py --seeds 8 > OUT.json
"""

import argparse
import json

import numpy as np

from rl_unplugged.selection import metrics, toy, toy_study


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--x", type=float, nargs="+", default=[0.5, 0.6, 0.7])
    p.add_argument("--rollouts", type=int, default=2000)
    args = p.parse_args()
    out = {}
    for x in args.x:
        per = {"td": [], "sbv": [], "converged": []}
        for seed in range(args.seeds):
            r = toy_study.run_seed(toy.ToyTask(x=x), seed, ("td", "sbv"),
                                   rollouts=args.rollouts)
            ok = np.array([n not in r["nan_candidates"]["td"]
                           and n not in r["nan_candidates"]["sbv"] for n in r["names"]])
            per["converged"].append(int(ok.sum()))
            for k in ("td", "sbv"):
                per[k].append(metrics.spearman(r["utility"][k][ok], r["true"][ok]))
        wins = sum(a > b for a, b in zip(per["sbv"], per["td"], strict=True))
        out[str(x)] = {"spearman": {k: float(np.mean(per[k])) for k in ("td", "sbv")},
                       "spearman_per_seed": {k: per[k] for k in ("td", "sbv")},
                       "sbv_wins": int(wins),
                       "converged_candidates": per["converged"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

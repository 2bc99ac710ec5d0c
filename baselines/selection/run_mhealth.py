"""The mHealth study of baselines/selection/mhealth.md: SBV vs TD error over 8 seeds,
written seed by seed (mhealth_seeds.jsonl) and summarised (mhealth.json).

  PYTHONPATH=. python baselines/selection/run_mhealth.py OUT_DIR [--no-trees]

`--no-trees` leaves out the 6 tree-based FQI candidates (15 of the paper's 21 remain:
LSPI and min-EMSBE), for a machine too loaded for their 100 forest refits per candidate.
The full pool is `rlu select mhealth --seeds 8 --json`.
"""

import argparse
import json
from pathlib import Path

from rl_unplugged import fileio
from rl_unplugged.cli.select import json_safe
from rl_unplugged.selection import mhealth, toy_study


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output directory")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--criteria", default="td,sbv")
    parser.add_argument("--no-trees", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = mhealth.CandidateGrid(tree_mtry=()) if args.no_trees else None
    log = out / "mhealth_seeds.jsonl"
    log.write_text("")

    def on_seed(seed, result):
        row = {"seed": seed, "names": result["names"], "true": result["true"].tolist(),
               "utility": {k: v.tolist() for k, v in result["utility"].items()}}
        with log.open("a") as f:
            f.write(json.dumps(json_safe(row)) + "\n")

    summary = toy_study.run(mhealth.MHealthTask(), args.seeds,
                            tuple(args.criteria.split(",")), grid=grid, rollouts=1000,
                            on_seed=on_seed)
    summary["candidate_grid"] = "without tree-based FQI" if args.no_trees else "the paper's"
    fileio.write_json(out / "mhealth.json", json_safe(summary))


if __name__ == "__main__":
    main()

"""Builds a candidate pool for model selection on one dataset (the recipe of every pool
recorded under baselines/selection/).

  PYTHONPATH=. python -m rl_unplugged.cli datasets build DATASET --data-dir DATA
  PYTHONPATH=. python baselines/selection/build_pool.py DATASET DATA POOL \
      [--steps 6000 --checkpoint-every 2000]
  PYTHONPATH=. python -m rl_unplugged.cli select --pool POOL \
      --criteria td,sbv,fqe,wis,dr,srank,erank,dormant --out STUDY --data-dir DATA

The grid is the same for every dataset: double DQN over three learning rates, QR-DQN
(51 quantiles) over two, CQL with alpha 0.5 and 2 (flagged pessimistic), BC over two
learning rates; hidden widths 64x64 (an MLP, or the dense layers after the CNN for image
observations), batch 128,
one seed; `steps / checkpoint_every` checkpoints per member.
"""

import argparse

from rl_unplugged.selection import pool

SMALL = {"hidden": (64, 64), "batch_size": 128}
RUNS = [
    pool.RunSpec(key="dqn", agent="dqn", config=SMALL, grid={"learning_rate": (1e-4, 3e-4, 1e-3)}),
    pool.RunSpec(key="qrdqn", agent="qrdqn", config={**SMALL, "num_atoms": 51},
                 grid={"learning_rate": (3e-4, 1e-3)}),
    pool.RunSpec(key="cql", agent="cql", config=SMALL, grid={"alpha": (0.5, 2.0)}),
    pool.RunSpec(key="bc", agent="bc", config=SMALL, grid={"learning_rate": (3e-4, 1e-3)}),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset",
                        help="registered dataset name, e.g. rlu_bsuite/catch_noise30_run0")
    parser.add_argument("data_dir", help="data root the dataset is built under")
    parser.add_argument("pool", help="pool directory to create")
    parser.add_argument("--steps", type=int, default=6000, help="updates per member")
    parser.add_argument("--checkpoint-every", type=int, default=2000,
                        help="updates between checkpoints (each one a candidate)")
    args = parser.parse_args(argv)
    print(pool.build_pool(args.dataset, args.pool, RUNS, steps=args.steps,
                          checkpoint_every=args.checkpoint_every, data_dir=args.data_dir))


if __name__ == "__main__":
    main()

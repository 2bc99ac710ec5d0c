"""Builds and studies the small catch pool recorded in baselines/selection/catch_noise30.md.

  PYTHONPATH=. python -m rl_unplugged.cli datasets build rlu_bsuite/catch_noise30_run0 \
      --data-dir DATA
  PYTHONPATH=. python baselines/selection/build_catch_pool.py DATA POOL
  PYTHONPATH=. python -m rl_unplugged.cli select --pool POOL \
      --criteria td,sbv,fqe,wis,dr,srank,erank,dormant --out STUDY --data-dir DATA
"""

import sys

from rl_unplugged.selection import pool

DATASET = "rlu_bsuite/catch_noise30_run0"
SMALL = {"hidden": (64, 64), "batch_size": 128}
RUNS = [
    pool.RunSpec(key="dqn", agent="dqn", config=SMALL, grid={"learning_rate": (1e-4, 3e-4, 1e-3)}),
    pool.RunSpec(key="qrdqn", agent="qrdqn", config={**SMALL, "num_atoms": 51},
                 grid={"learning_rate": (3e-4, 1e-3)}),
    pool.RunSpec(key="cql", agent="cql", config=SMALL, grid={"alpha": (0.5, 2.0)}),
    pool.RunSpec(key="bc", agent="bc", config=SMALL, grid={"learning_rate": (3e-4, 1e-3)}),
]

if __name__ == "__main__":
    data_dir, out = sys.argv[1], sys.argv[2]
    print(pool.build_pool(DATASET, out, RUNS, steps=6000, checkpoint_every=2000,
                          data_dir=data_dir))

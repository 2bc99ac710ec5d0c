"""The catch pool of baselines/selection/catch_noise30.md: build_pool.py on
rlu_bsuite/catch_noise30_run0 with its defaults (6000 updates, checkpoints every 2000).

  PYTHONPATH=. python baselines/selection/build_catch_pool.py DATA POOL
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_pool  # noqa: E402

if __name__ == "__main__":
    data_dir, out = sys.argv[1], sys.argv[2]
    build_pool.main(["rlu_bsuite/catch_noise30_run0", data_dir, out])

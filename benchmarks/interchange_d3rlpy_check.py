"""Proves that d3rlpy itself loads the suite's `--to d3rlpy` export (run in d3rlpy's venv).

d3rlpy 2.8 pins gymnasium 1.0, which conflicts with the suite's environment, so the
export is written from d3rlpy's file specification (`rl_unplugged.data.export`) and
this script checks it where d3rlpy is installed. It needs only numpy, h5py and
d3rlpy (not rl_unplugged):

  rlu datasets export NAME --to d3rlpy data.h5
  rlu datasets export NAME --to npz data.npz
  python -m venv /tmp/d3 && /tmp/d3/bin/pip install 'd3rlpy==2.8.*'
  /tmp/d3/bin/python benchmarks/interchange_d3rlpy_check.py data.h5 data.npz

It loads the file with `d3rlpy.dataset.ReplayBuffer.load`, then checks, against the
npz export of the same dataset: the number of episodes and of transitions (the last
transition of truncated episodes is kept), and every transition d3rlpy's default
transition picker gives (observation, action, reward, next observation where the
episode did not terminate, terminal flag). Prints one JSON line; exit status 1 on any
mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("h5", help="the --to d3rlpy export")
    parser.add_argument("npz", help="the --to npz export of the same dataset")
    args = parser.parse_args(argv)

    import d3rlpy
    from d3rlpy.dataset import BasicTransitionPicker, InfiniteBuffer, ReplayBuffer

    with open(args.h5, "rb") as f:
        buffer = ReplayBuffer.load(f, InfiniteBuffer())
    flat = np.load(args.npz, allow_pickle=False)
    problems = []
    ends = np.flatnonzero(flat["terminal"] | flat["truncated"])
    if len(buffer.episodes) != len(ends):
        problems.append(f"{len(buffer.episodes)} episodes, npz has {len(ends)}")
    if buffer.transition_count != len(flat["reward"]):
        problems.append(f"{buffer.transition_count} transitions, npz has {len(flat['reward'])}")
    picker = BasicTransitionPicker()
    row = 0
    for episode in buffer.episodes:
        for k in range(episode.transition_count):
            t = picker(episode, k)
            checks = {
                "observation": np.array_equal(t.observation, flat["observation"][row]),
                "action": np.array_equal(np.reshape(t.action, -1),
                                         np.reshape(flat["action"][row], -1)),
                "reward": np.isclose(float(t.reward[0]), float(flat["reward"][row])),
                "terminal": bool(t.terminal) == bool(flat["terminal"][row]),
                "next_observation": bool(flat["terminal"][row]) or np.array_equal(
                    t.next_observation, flat["next_observation"][row]),
            }
            problems += [f"row {row}: {name} differs" for name, ok in checks.items() if not ok]
            row += 1
            if len(problems) > 10:
                break
    print(json.dumps({"d3rlpy": d3rlpy.__version__, "episodes": len(buffer.episodes),
                      "transitions": buffer.transition_count, "ok": not problems,
                      "problems": problems[:10]}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Proves that Minari itself opens the suite's `--to minari` export (run in Minari's venv).

Minari is not installed beside the suite; this script needs only numpy and
`minari[hdf5]` 0.5 (not rl_unplugged):

  rlu datasets export NAME --to minari $MINARI_DATASETS_PATH/rlu/NAME-v0
  rlu datasets export NAME --to npz data.npz
  python benchmarks/interchange_minari_check.py rlu/NAME-v0 data.npz

It opens the dataset with `minari.load_dataset`, then checks against the npz export of
the same dataset every episode's observations (o_0..o_T), actions, rewards,
terminations and truncations, and that the reference scores are present when the task
has them. Prints one JSON line; exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset_id", help="the exported dataset's id under MINARI_DATASETS_PATH")
    parser.add_argument("npz", help="the --to npz export of the same dataset")
    args = parser.parse_args(argv)

    import minari

    dataset = minari.load_dataset(args.dataset_id)
    flat = np.load(args.npz, allow_pickle=False)
    ends = np.flatnonzero(flat["terminal"] | flat["truncated"]) + 1
    starts = np.concatenate([[0], ends[:-1]])
    episodes = list(dataset.iterate_episodes())
    problems = []
    if len(episodes) != len(ends):
        problems.append(f"{len(episodes)} episodes, npz has {len(ends)}")
    for i, (episode, s, e) in enumerate(zip(episodes, starts, ends, strict=False)):
        obs = np.concatenate([flat["observation"][s:e], flat["next_observation"][e - 1:e]])
        checks = {
            "observations": np.array_equal(episode.observations, obs),
            "actions": np.array_equal(np.reshape(episode.actions, flat["action"][s:e].shape),
                                      flat["action"][s:e]),
            "rewards": np.allclose(episode.rewards, flat["reward"][s:e]),
            "terminations": np.array_equal(episode.terminations, flat["terminal"][s:e]),
            "truncations": np.array_equal(episode.truncations, flat["truncated"][s:e]),
        }
        problems += [f"episode {i}: {name} differ" for name, ok in checks.items() if not ok]
    metadata = dataset.storage.metadata
    print(json.dumps({"minari": minari.__version__, "episodes": len(episodes),
                      "steps": int(dataset.total_steps),
                      "ref_min_score": metadata.get("ref_min_score"),
                      "ref_max_score": metadata.get("ref_max_score"),
                      "ok": not problems, "problems": problems[:10]}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Interchange throughput: RL Unplugged Atari decoding against bare tf.data, and import
of D4RL / Minari files against reading them with h5py alone, in one run.

Writes synthetic data in each format under a temporary directory, then prints JSON:
  * atari: decoded transitions/s of `AtariSource.read_file` over local GZIP shards
    against a bare `tf.data` parse + PNG decode of the same files (target: >= 90%),
    and the full import (`materialize`: chaining, conformance, .npy store);
  * d4rl, minari: transitions/s of the import (`materialize`) against reading every
    column with h5py (Minari itself is not installed beside the suite; h5py reads the
    same HDF5 file); the import includes what every source pays at the door:
    conformance, the .npy store written and checksummed.
Other jobs share this machine: compare the ratios, not the absolute rates. Usage (from
the repository root): PYTHONPATH=. python benchmarks/interchange.py [--atari 20000]
[--rows 1000000].
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import h5py
import numpy as np

from rl_unplugged.data import store as S
from rl_unplugged.data.rlu_originals import AtariSource
from rl_unplugged.data.sources_d4rl import D4RLSource
from rl_unplugged.data.sources_minari import MinariSource


def _best(fn, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def write_atari(root: Path, transitions: int, shards: int = 4, episode: int = 500) -> Path:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    # Smooth frames (PNG compresses them as Atari screens compress), 16 distinct stacks.
    base = [np.repeat(np.repeat(rng.integers(0, 256, (21, 21, 1), np.uint8), 4, 0), 4, 1)
            for _ in range(16)]
    pngs = [tf.io.encode_png(b).numpy() for b in base]
    per_shard = transitions // shards
    (root / "Pong").mkdir(parents=True)
    row = 0
    for i in range(shards):
        with tf.io.TFRecordWriter(str(root / "Pong" / f"run_1-{i:05d}-of-{shards:05d}"),
                                  options="GZIP") as w:
            for _ in range(per_shard):
                k = row % episode
                f = {"o_t": [pngs[(row + j) % 16] for j in range(4)],
                     "o_tp1": [pngs[(row + 1 + j) % 16] for j in range(4)]}
                feats = {key: tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
                         for key, v in f.items()}
                ints = {"a_t": row % 6, "a_tp1": (row + 1) % 6, "episode_id": row // episode}
                feats.update({key: tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))
                              for key, v in ints.items()})
                floats = {"r_t": float(k % 3 == 0), "episode_return": 1.0,
                          "d_t": 0.0 if k == episode - 1 else 1.0}
                feats.update({key: tf.train.Feature(float_list=tf.train.FloatList(value=[v]))
                              for key, v in floats.items()})
                w.write(tf.train.Example(features=tf.train.Features(feature=feats))
                        .SerializeToString())
                row += 1
    return root / "Pong" / "run_1"


def bare_atari(files: list[str]) -> int:
    """The anchor: tf.data parse + decode of the same files, nothing else."""
    import tensorflow as tf

    spec = {"o_t": tf.io.FixedLenFeature([4], tf.string),
            "o_tp1": tf.io.FixedLenFeature([4], tf.string),
            **{k: tf.io.FixedLenFeature([], tf.int64) for k in ("a_t", "a_tp1", "episode_id")},
            **{k: tf.io.FixedLenFeature([], tf.float32)
               for k in ("r_t", "d_t", "episode_return")}}

    def parse(records):
        ex = tf.io.parse_example(records, spec)
        for key in ("o_t", "o_tp1"):
            frames = tf.map_fn(lambda p: tf.io.decode_png(p, channels=1),
                               tf.reshape(ex[key], [-1]),
                               fn_output_signature=tf.TensorSpec((84, 84, 1), tf.uint8))
            ex[key] = tf.transpose(tf.reshape(frames, [-1, 4, 84, 84]), [0, 2, 3, 1])
        return ex

    n = 0
    for path in files:
        ds = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(256).map(
            parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
        for batch in ds.as_numpy_iterator():
            n += len(batch["a_t"])
    return n


def write_d4rl(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(rows + 1, 17)).astype(np.float32)
    ends = np.zeros(rows, bool)
    ends[999::1000] = True
    with h5py.File(path, "w") as f:
        f["observations"], f["next_observations"] = obs[:-1], obs[1:]
        f["actions"] = rng.uniform(-1, 1, (rows, 6)).astype(np.float32)
        f["rewards"] = rng.normal(size=rows).astype(np.float32)
        f["terminals"], f["timeouts"] = np.zeros(rows, bool), ends


def write_minari(directory: Path, rows: int, length: int = 1000) -> None:
    rng = np.random.default_rng(0)
    (directory / "data").mkdir(parents=True)
    episodes = rows // length
    box = {"type": "Box", "dtype": "float32", "shape": [17], "low": [-1e9] * 17,
           "high": [1e9] * 17}
    act = {"type": "Box", "dtype": "float32", "shape": [6], "low": [-1] * 6, "high": [1] * 6}
    (directory / "data" / "metadata.json").write_text(json.dumps({
        "dataset_id": "bench/mujoco-v0", "total_episodes": episodes, "total_steps": rows,
        "data_format": "hdf5", "observation_space": json.dumps(box),
        "action_space": json.dumps(act)}))
    with h5py.File(directory / "data" / "main_data.hdf5", "w") as f:
        for i in range(episodes):
            g = f.create_group(f"episode_{i}")
            g["observations"] = rng.normal(size=(length + 1, 17)).astype(np.float32)
            g["actions"] = rng.uniform(-1, 1, (length, 6)).astype(np.float32)
            g["rewards"] = rng.normal(size=length)
            g["terminations"] = np.zeros(length, bool)
            g["truncations"] = np.arange(length) == length - 1


def h5_read_all(path: Path) -> None:
    with h5py.File(path, "r") as f:
        f.visititems(lambda _, v: v[()] if isinstance(v, h5py.Dataset) else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--atari", type=int, default=20_000, help="Atari transitions")
    parser.add_argument("--rows", type=int, default=1_000_000, help="D4RL/Minari transitions")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prefix = write_atari(root / "atari", args.atari)
        source = AtariSource(str(prefix))
        files = source._files
        bare = _best(lambda: bare_atari(files))
        ours = _best(lambda: [source.read_file(f) for f in files])
        full = _best(lambda: S.materialize(AtariSource(str(prefix)), root / "atari_store"), 1)
        out["atari"] = {"transitions": args.atari,
                        "bare_tf_data_per_s": round(args.atari / bare),
                        "reader_per_s": round(args.atari / ours),
                        "reader_vs_bare": round(bare / ours, 3),
                        "import_per_s": round(args.atari / full)}
        write_d4rl(root / "d.hdf5", args.rows)
        anchor = _best(lambda: h5_read_all(root / "d.hdf5"))
        full = _best(lambda: S.materialize(D4RLSource(root / "d.hdf5"), root / "d_store"), 1)
        out["d4rl"] = {"transitions": args.rows, "h5py_per_s": round(args.rows / anchor),
                       "import_per_s": round(args.rows / full),
                       "import_vs_h5py": round(anchor / full, 3)}
        write_minari(root / "m", args.rows)
        anchor = _best(lambda: h5_read_all(root / "m" / "data" / "main_data.hdf5"))
        full = _best(lambda: S.materialize(MinariSource(root / "m"), root / "m_store"), 1)
        out["minari"] = {"transitions": args.rows, "h5py_per_s": round(args.rows / anchor),
                         "import_per_s": round(args.rows / full),
                         "import_vs_h5py": round(anchor / full, 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

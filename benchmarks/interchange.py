"""Interchange throughput, in one run: RL Unplugged Atari decoding against bare tf.data,
and the import of each source against reading the same file with its own library.

Writes synthetic data in each format under a temporary directory, then prints JSON:
  * atari: decoded transitions/s over local GZIP shards of (a) `AtariSource.read_file`
    (parse + PNG decode), (b) `AtariSource.iter_episodes` (decode, then episodes rebuilt
    from the rows: what the import consumes) against the anchor, a bare `tf.data` parse +
    decode of the same files (target: >= 90%), and (c) the full import (`materialize`:
    chaining, conformance, the .npy store written and checksummed);
  * d4rl, minari, d3rlpy, npz, tfds: transitions/s of the import (`materialize`, which
    every source pays at the door: conformance, .npy store, checksums) against reading
    every column of the same file with its own library: h5py (D4RL, d3rlpy; Minari too
    unless `minari` is importable, then `minari.load_dataset` and iterating its
    episodes), `np.load` (npz), `tfds.builder(...).as_dataset` iterated as NumPy (tfds).
Other jobs may share the machine: compare same-run ratios, not absolute rates. Usage
(from the repository root): PYTHONPATH=. python benchmarks/interchange.py [--atari 20000]
[--rows 1000000] [--tfds 20000].
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

from rl_unplugged.data import export
from rl_unplugged.data import store as S
from rl_unplugged.data.rlu_originals import AtariSource
from rl_unplugged.data.sources_d3rlpy import D3rlpySource
from rl_unplugged.data.sources_d4rl import D4RLSource
from rl_unplugged.data.sources_minari import MinariSource
from rl_unplugged.data.sources_npz import NpzSource
from rl_unplugged.data.sources_rlds import TFDSSource


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _best(fn, repeats: int = 2) -> tuple[float, float]:
    """Best (wall, CPU) seconds over `repeats` calls."""
    times = [_timed(fn) for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times)


def _interleaved(fns: dict, rounds: int = 3) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of each function over `rounds` rounds that run them in
    turn (so a load change on a shared machine hits every function alike)."""
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            times[key].append(_timed(fn))
    return {k: (min(t[0] for t in v), min(t[1] for t in v)) for k, v in times.items()}


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
    """Every dataset of the file read into memory (visititems stops at a non-None)."""
    def read(_, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(read)


def minari_read_all(directory: Path) -> str:
    """Every episode of a Minari dataset read by `minari` (if importable) else h5py."""
    try:
        import minari
    except ImportError:
        h5_read_all(directory / "data" / "main_data.hdf5")
        return "h5py"
    os.environ["MINARI_DATASETS_PATH"] = str(directory.parent.parent)
    dataset = minari.load_dataset(f"{directory.parent.name}/{directory.name}")
    for episode in dataset.iterate_episodes():
        _ = episode.observations, episode.actions, episode.rewards
    return f"minari {minari.__version__}"


def npz_read_all(path: Path) -> None:
    with np.load(path) as f:
        for key in f.files:
            f[key]


def build_tfds(root: Path, transitions: int) -> tuple[str, Path]:
    """A bsuite catch RLDS dataset of >= `transitions`, built by the suite's builder."""
    from rl_unplugged import builders
    from tests.helpers import tiny_spec, write_random_log

    name = "rlu_bsuite/catch_noise10_run0"
    spec = tiny_spec(name, num_steps=transitions)
    write_random_log(spec, root)
    builders.builder(name, root, num_steps=transitions).download_and_prepare()
    return name, root


def tfds_read_all(name: str, root: Path) -> int:
    """The anchor: every step through tfds itself (episodes flattened, batched), as NumPy."""
    import tensorflow_datasets as tfds

    n = 0
    ds = tfds.builder(name, data_dir=str(root)).as_dataset(split="train")
    for steps in ds.flat_map(lambda e: e["steps"]).batch(4096).as_numpy_iterator():
        n += len(steps["reward"])
    return n


def _rates(n: int, anchor: tuple[float, float], ours: tuple[float, float],
           anchor_key: str) -> dict:
    """Throughputs of the import and its anchor, by wall clock and by CPU time (the
    CPU-time ratio is the robust one on a shared machine: others' load is not in it)."""
    return {"transitions": n, f"{anchor_key}_per_s": round(n / anchor[0]),
            "import_per_s": round(n / ours[0]),
            f"import_vs_{anchor_key}": round(anchor[0] / ours[0], 3),
            f"{anchor_key}_per_cpu_s": round(n / anchor[1]),
            "import_per_cpu_s": round(n / ours[1]),
            f"import_vs_{anchor_key}_cpu": round(anchor[1] / ours[1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--atari", type=int, default=20_000, help="Atari transitions")
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="D4RL/Minari/d3rlpy/npz transitions")
    parser.add_argument("--tfds", type=int, default=20_000, help="TFDS transitions (0: skip)")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prefix = write_atari(root / "atari", args.atari)
        source = AtariSource(str(prefix))
        files = source._files
        best = _interleaved({
            "bare": lambda: bare_atari(files),
            "read_file": lambda: [source.read_file(f) for f in files],
            "iter_episodes": lambda: sum(len(e.steps["reward"]) - 1
                                         for e in AtariSource(str(prefix)).iter_episodes())})
        full = _best(lambda: S.materialize(AtariSource(str(prefix)), root / "atari_store"), 1)
        bare = best["bare"]
        out["atari"] = {"transitions": args.atari,
                        "bare_tf_data_per_s": round(args.atari / bare[0]),
                        "bare_tf_data_per_cpu_s": round(args.atari / bare[1])}
        for key, t in (*best.items(), ("import", full)):
            if key != "bare":
                out["atari"].update({
                    f"{key}_per_s": round(args.atari / t[0]),
                    f"{key}_vs_bare": round(bare[0] / t[0], 3),
                    f"{key}_per_cpu_s": round(args.atari / t[1]),
                    f"{key}_vs_bare_cpu": round(bare[1] / t[1], 3)})
        write_d4rl(root / "d.hdf5", args.rows)
        anchor = _best(lambda: h5_read_all(root / "d.hdf5"))
        full = _best(lambda: S.materialize(D4RLSource(root / "d.hdf5"), root / "d_store"), 1)
        out["d4rl"] = _rates(args.rows, anchor, full, "h5py")
        write_minari(root / "m" / "bench" / "mujoco-v0", args.rows)
        minari_dir = root / "m" / "bench" / "mujoco-v0"
        library = minari_read_all(minari_dir)
        anchor = _best(lambda: minari_read_all(minari_dir))
        full = _best(lambda: S.materialize(MinariSource(minari_dir), root / "m_store"), 1)
        out["minari"] = {**_rates(args.rows, anchor, full, "library"), "library": library}
        d_store = S.open_store(root / "d_store")
        d_task = D4RLSource(root / "d.hdf5").task
        export.export_d3rlpy(d_store, d_task, root / "d.h5")
        anchor = _best(lambda: h5_read_all(root / "d.h5"))
        full = _best(lambda: S.materialize(D3rlpySource(root / "d.h5"), root / "d3_store"), 1)
        out["d3rlpy"] = _rates(args.rows, anchor, full, "h5py")
        export.export_npz(d_store, d_task, root / "d.npz")
        anchor = _best(lambda: npz_read_all(root / "d.npz"))
        full = _best(lambda: S.materialize(NpzSource(root / "d.npz"), root / "npz_store"), 1)
        out["npz"] = _rates(args.rows, anchor, full, "np_load")
        if args.tfds:
            name, data_root = build_tfds(root / "tfds", args.tfds)
            n = tfds_read_all(name, data_root)
            anchor = _best(lambda: tfds_read_all(name, data_root))
            full = _best(lambda: S.materialize(TFDSSource(name, data_root),
                                               root / "tfds_store"), 1)
            out["tfds"] = _rates(n, anchor, full, "tfds")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

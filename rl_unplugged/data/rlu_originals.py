"""RL Unplugged's original files as `Source`s (`rlu-gcs:<path>`); TensorFlow imported lazily.

Paths are anything `tf.io.gfile` opens: a local copy of the buckets, or gs:// (supported,
untested here). The per-task shapes live in `rl_unplugged.registry` (`RLU_CONTROL_SUITE`,
`RLU_ATARI`); `datasets/interchange.md` is the card of every alignment change below.

Atari (`rlu-gcs:<root>/<Game>/run_<n>`, files `<Game>/run_<n>-<i:05d>-of-<N:05d>`):
GZIP TFRecords of tf.Example transitions: `o_t`, `o_tp1` (4 PNG strings each: 84x84
grey frames, decoded and stacked on the last axis to (84, 84, 4) uint8), `a_t`, `a_tp1`
(int64), `r_t` (float32, the clipped reward), `d_t` (float32 discount), `episode_id`
(int64, bit-cast from uint64), `episode_return` (float32). Transitions carry no step
index: episodes are rebuilt from runs of consecutive rows (in file order, across shard
boundaries: an episode whose rows straddle two files comes out whole) with the same
episode_id whose `o_tp1` equals the next row's `o_t`; a run ends terminated where
d_t = 0, else truncated (the next row belongs elsewhere, or the run's files end). No row
is dropped. The store's episode ids count these runs (0..E-1, unique even where original
ids repeat, see below); the original id (int64 bits) and return are kept as episode
metadata `source_episode_id` and `source_episode_return`, and the npz export writes the
original ids as its `source_episode_id` column (uint64). After a full pass the source's
metadata (recorded in the store manifest) reports `truncated_episodes` (ended without
d_t = 0: the time limit, or rows missing from the files, which they cannot tell apart),
the first `truncated_episode_ids` (uint64) and `broken_episodes` (pieces of an original
id after its first: rows of one episode that do not chain, i.e. missing or out of order).
`a_tp1` is not kept (it is the next row's `a_t`). Actions: 18 values (ALE's full set;
the minimal sets are prefixes-free subsets of it, so every logged action fits) unless
`num_actions` is given.

DM Control Suite, DM Locomotion and bsuite (sequences of L steps chained into
episodes): `rl_unplugged.data.rlu_originals_sequences`. DMLab (one tf.Example per
episode, PNG pixels stored BGR, returned RGB): `rl_unplugged.data.rlu_originals_dmlab`.

RWRL (`rlu-gcs:<root>/combined_challenge_<c>/<domain>/<task>/offline_rl_challenge_<d>`,
files `episodes.tfrecord-<i:05d>-of-<N:05d>`, uncompressed): one tf.Example per episode of
1001 steps, every feature a float list of 1001 x size entries under a `:`-flattened key
(`observation:<key>`, `action`, `reward`, `discount`). Step 0 holds the first
observation and no action yet; entry k >= 1 holds the action taken at step k - 1 and the
reward and discount that followed (RSA). The store's SAR steps take o_k with action[k +
1], reward[k + 1], discount[k + 1] (as the original loader slices them); the episode ends
terminated where that discount is 0, else truncated (the 1000-step limit). Observation
keys and sizes come from the files (no registry table: the 40 configs differ), flattened
in sorted key order; actions within [-1, 1] are declared so (else the data's range).

Errors: a corrupted or truncated shard, a file that is not GZIP, a missing or malformed
feature: `CorruptDataError` naming the file (and the feature where TensorFlow says).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from rl_unplugged import registry
from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.sources import Source
from rl_unplugged.errors import ConfigError, CorruptDataError, NotFoundError, UnknownNameError
from rl_unplugged.specs import ActionSpec

ATARI_ACTIONS = 18
ATARI_FRAMES = 4
ATARI_SHAPE = (84, 84, ATARI_FRAMES)
ATARI_MAX_STEPS = 108_000
CONTROL_MAX_STEPS = 1000
REPORTED_IDS = 20  # Original ids of truncated episodes listed in the metadata.
BATCH = 256  # Transitions decoded per tf.data batch (rlu_originals tests shrink it).
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})$")


def _tf():
    import tensorflow as tf

    return tf


def shard_files(prefix: str) -> list[str]:
    """`<prefix>-<i:05d>-of-<N:05d>` files, sorted by i.

    Raises:
      NotFoundError: none there. CorruptDataError: shards missing from 0..N-1.
    """
    tf = _tf()
    files = sorted(tf.io.gfile.glob(f"{prefix}-*-of-*"))
    files = [f for f in files if _SHARD.search(f)]
    if not files:
        raise NotFoundError(f"no RL Unplugged shards {prefix}-NNNNN-of-NNNNN")
    total = int(_SHARD.search(files[0]).group(2))
    have = {int(_SHARD.search(f).group(1)) for f in files}
    missing = sorted(set(range(total)) - have)
    if missing:
        raise CorruptDataError(f"{prefix}: shards {missing[:5]} of {total} are missing")
    return files


def _read_errors(path: str, error: Exception) -> CorruptDataError:
    tf = _tf()
    message = str(getattr(error, "message", error)).strip().splitlines()[0]
    if isinstance(error, tf.errors.DataLossError):
        return CorruptDataError(f"{path}: corrupted or truncated record, or not a GZIP "
                                f"TFRecord ({message})")
    field = re.search(r"(?:[Ff]eature:? ?|Key: )'?([\w/:]*\w)", message)
    named = f"field {field.group(1)!r}: " if field else ""
    return CorruptDataError(f"{path}: {named}missing or malformed ({message})")


def _signature(files: list[str]) -> dict[str, Any]:
    tf = _tf()
    return {os.path.basename(f): [tf.io.gfile.stat(f).length, tf.io.gfile.stat(f).mtime_nsec]
            for f in files}


def _fingerprint(files: list[str]) -> str:
    tf = _tf()
    h = hashlib.sha256()
    for f in files:
        with tf.io.gfile.GFile(f, "rb") as g:
            while chunk := g.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- Atari


class AtariSource(Source):
    """RL Unplugged Atari transitions of one game and run; see the module docstring."""

    def __init__(self, prefix: str, *, num_actions: int = ATARI_ACTIONS):
        """Args: prefix: `<root>/<Game>/run_<n>`; num_actions: the action set's size.

        Raises: NotFoundError: no shards. ConfigError: a prefix not ending in run_<n>."""
        match = re.search(r"([^/]+)/run_(\d+)$", prefix.rstrip("/"))
        if not match:
            raise ConfigError(f"rlu-gcs:{prefix}: Atari paths end in <Game>/run_<n>")
        self._prefix = prefix.rstrip("/")
        self._game, self._run = match.group(1), int(match.group(2))
        self._files = shard_files(self._prefix)
        self._report: dict[str, Any] | None = None  # Set by a full iter_episodes pass.
        task = adhoc.adhoc_task(
            f"rlu_atari_{self._game}", observation_shape=ATARI_SHAPE, observation_dtype="uint8",
            action=ActionSpec.discrete(num_actions), max_episode_steps=ATARI_MAX_STEPS,
            env_id=self._game, description=f"RL Unplugged Atari {self._game} (original files)")
        super().__init__(name=f"rlu_atari/{self._game}_run_{self._run}",
                         uri=f"rlu-gcs:{self._prefix}", task=task)

    @property
    def metadata(self) -> dict[str, Any]:
        """Format, game, run, shards; after a full `iter_episodes` pass also
        `truncated_episodes` (count), `truncated_episode_ids` (the first `REPORTED_IDS`
        original ids, uint64) and `broken_episodes` (module docstring)."""
        return {"format": "rlu-atari-tfrecord", "game": self._game, "run": self._run,
                "shards": len(self._files), **(self._report or {})}

    def fingerprint(self) -> str:
        return _fingerprint(self._files)

    def signature(self) -> dict[str, Any]:
        return _signature(self._files)

    def batches(self, path: str) -> Iterator[dict[str, np.ndarray]]:
        """One shard's transitions in batches of `BATCH` (o_t, o_tp1 (B, 84, 84, 4) uint8)."""
        tf = _tf()
        spec = {"o_t": tf.io.FixedLenFeature([ATARI_FRAMES], tf.string),
                "o_tp1": tf.io.FixedLenFeature([ATARI_FRAMES], tf.string),
                "a_t": tf.io.FixedLenFeature([], tf.int64),
                "a_tp1": tf.io.FixedLenFeature([], tf.int64),
                "r_t": tf.io.FixedLenFeature([], tf.float32),
                "d_t": tf.io.FixedLenFeature([], tf.float32),
                "episode_id": tf.io.FixedLenFeature([], tf.int64),
                "episode_return": tf.io.FixedLenFeature([], tf.float32)}

        def decode(pngs):  # (B, 4) PNG strings -> (B, 84, 84, 4) uint8.
            flat = tf.reshape(pngs, [-1])
            frames = tf.map_fn(lambda p: tf.io.decode_png(p, channels=1), flat,
                               fn_output_signature=tf.TensorSpec((84, 84, 1), tf.uint8))
            frames = tf.reshape(frames, [-1, ATARI_FRAMES, 84, 84])
            return tf.transpose(frames, [0, 2, 3, 1])

        def parse(records):
            ex = tf.io.parse_example(records, spec)
            ex["o_t"], ex["o_tp1"] = decode(ex["o_t"]), decode(ex["o_tp1"])
            return ex

        ds = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(BATCH).map(
            parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
        try:
            yield from ds.as_numpy_iterator()
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            raise _read_errors(path, e) from None

    def read_file(self, path: str) -> dict[str, np.ndarray]:
        """One shard's transitions as arrays (o_t, o_tp1 (N, 84, 84, 4) uint8, ...)."""
        parts: dict[str, list[np.ndarray]] = {}
        for batch in self.batches(path):
            for key, value in batch.items():
                parts.setdefault(key, []).append(value)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def _episode(self, path: str, parts: list[dict[str, np.ndarray]], count: int) -> Episode:
        # One copy of the frames: o_t of every row, then the last row's o_tp1 (the other
        # o_tp1 are the next rows' o_t, checked when the rows were chained).
        frames = np.concatenate([p["o_t"] for p in parts] + [parts[-1]["o_tp1"][-1:]])
        d = np.concatenate([p["d_t"] for p in parts])
        if np.any((d != 0) & (d != 1)):
            raise CorruptDataError(f"{path}: field 'd_t' holds {d[(d != 0) & (d != 1)][0]}, "
                                   f"expected 0 or 1")
        return Episode.from_rollout(
            observations=frames, actions=np.concatenate([p["a_t"] for p in parts]),
            rewards=np.concatenate([p["r_t"] for p in parts]), terminated=bool(d[-1] == 0),
            metadata={F.EPISODE_ID: count,
                      F.SOURCE_EPISODE_ID: int(parts[0]["episode_id"][0]),
                      "source_episode_return": float(parts[0]["episode_return"][0])})

    def iter_episodes(self) -> Iterator[Episode]:
        """Streams the run's shards in file order, in batches: memory holds one episode,
        not a whole shard. An episode's rows continue across shard boundaries; after a
        full pass `metadata` reports the truncated and broken episodes (module docstring).
        """
        self._report = None
        count, truncated, broken = 0, [], 0
        seen: set[int] = set()  # Original ids already yielded (int64 bits).
        open_run: list[dict[str, np.ndarray]] = []  # Rows of the episode not yet ended.

        def close(path: str) -> Episode:
            nonlocal count, broken
            episode = self._episode(path, open_run, count)
            source_id = int(open_run[0]["episode_id"][0])
            broken += source_id in seen
            seen.add(source_id)
            if not episode.steps[F.IS_TERMINAL][-1]:
                truncated.append(int(np.int64(source_id).view(np.uint64)))
            count += 1
            return episode

        for path in self._files:
            for rows in self.batches(path):
                n = len(rows["a_t"])
                if open_run and not (
                        open_run[-1]["episode_id"][-1] == rows["episode_id"][0]
                        and np.array_equal(open_run[-1]["o_tp1"][-1], rows["o_t"][0])):
                    yield close(path)
                    open_run = []
                breaks = rows["d_t"] == 0
                breaks[:-1] |= rows["episode_id"][1:] != rows["episode_id"][:-1]
                if n > 1:  # Compared 8 bytes at a time (frames are contiguous uint8).
                    after, before = (rows[k].reshape(n, -1).view(np.uint64)
                                     for k in ("o_tp1", "o_t"))
                    breaks[:-1] |= np.any(after[:-1] != before[1:], axis=1)
                start = 0
                for stop in np.flatnonzero(breaks) + 1:
                    open_run.append({k: v[start:stop] for k, v in rows.items()})
                    yield close(path)
                    open_run, start = [], stop
                if start < n:
                    open_run.append({k: v[start:] for k, v in rows.items()})
        if open_run:  # The run's last rows: their episode's end is not in the files.
            yield close(self._files[-1])
        self._report = {"truncated_episodes": len(truncated),
                        "truncated_episode_ids": truncated[:REPORTED_IDS],
                        "broken_episodes": broken}


# ------------------------------------------------------------------------------- RWRL

RWRL_STEPS = 1001
RWRL_FILES = "episodes.tfrecord"


class RWRLSource(Source):
    """RL Unplugged RWRL episodes of one configuration; see the module docstring."""

    def __init__(self, directory: str):
        """Args: directory: `.../combined_challenge_<c>/<domain>/<task>/offline_rl_challenge_<d>`.

        Raises: NotFoundError: no shards. CorruptDataError: an unreadable first episode."""
        self._dir = directory.rstrip("/")
        parts = self._dir.split("/")
        self._label = "_".join(p for p in parts[-4:] if p)
        self._files = shard_files(f"{self._dir}/{RWRL_FILES}")
        first = next(self._episodes(self._files[0]), None)
        if first is None:
            raise CorruptDataError(f"{self._files[0]}: holds no episode")
        _, columns = first
        keys = tuple((k, (v.shape[1],)) for k, v in sorted(columns["observation"].items()))
        action = adhoc.infer_action(columns["action"][1:])
        task = adhoc.adhoc_task(
            f"rlu_rwrl_{self._label}", observation_shape=(sum(s[0] for _, s in keys),),
            observation_dtype="float32", action=action, max_episode_steps=RWRL_STEPS - 1,
            observation_keys=keys, description=f"RL Unplugged RWRL {self._label} (original files)")
        super().__init__(name=f"rlu_rwrl/{self._label}", uri=f"rlu-gcs:{self._dir}", task=task)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": "rlu-rwrl-tfrecord", "config": self._label, "shards": len(self._files)}

    def fingerprint(self) -> str:
        return _fingerprint(self._files)

    def signature(self) -> dict[str, Any]:
        return _signature(self._files)

    def _episodes(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, {'observation': {key: (1001, size)}, 'action': (1001, A), 'reward',
        'discount': (1001,)}) per record of one (uncompressed) shard."""
        tf = _tf()
        try:
            for index, record in enumerate(tf.data.TFRecordDataset(path)):
                example = tf.train.Example.FromString(record.numpy())
                columns: dict[str, Any] = {"observation": {}}
                # Sorted: protobuf maps iterate in no fixed order (errors name one field).
                for key, feature in sorted(example.features.feature.items()):
                    values = np.asarray(feature.float_list.value, np.float32)
                    if len(values) % RWRL_STEPS:
                        raise CorruptDataError(f"{path}: field {key!r} of episode {index} has "
                                               f"{len(values)} values, not a multiple of "
                                               f"{RWRL_STEPS} steps")
                    values = values.reshape(RWRL_STEPS, -1)
                    head, _, rest = key.partition(":")
                    if head == "observation" and rest:
                        columns["observation"][rest] = values
                    elif not rest:
                        columns[key] = values if key == "action" else values[:, 0]
                missing = [k for k in ("action", "reward", "discount") if k not in columns]
                missing += [] if columns["observation"] else ["observation:*"]
                if missing:
                    raise CorruptDataError(f"{path}: episode {index} lacks field(s) {missing}")
                yield index, columns
        except tf.errors.DataLossError as e:
            raise _read_errors(path, e) from None

    def iter_episodes(self) -> Iterator[Episode]:
        count = 0
        for path in self._files:
            for _, c in self._episodes(path):
                discount = c["discount"][1:]
                if np.any((discount != 0) & (discount != 1)):
                    raise CorruptDataError(f"{path}: field 'discount' holds values other than "
                                           f"0 and 1")
                ends = np.flatnonzero(discount == 0)
                stop = int(ends[0]) + 1 if len(ends) else RWRL_STEPS - 1
                yield Episode.from_rollout(
                    observations={k: v[:stop + 1] for k, v in c["observation"].items()},
                    actions=c["action"][1:stop + 1], rewards=c["reward"][1:stop + 1],
                    terminated=bool(len(ends)), metadata={F.EPISODE_ID: count})
                count += 1


# `rlu convert DOMAIN`: the suite's directory under a bucket root, and its source class.
SUITE_DIRS = {"atari": "atari", "control_suite": "dm_control_suite",
              "locomotion": "dm_locomotion", "bsuite": "bsuite", "dmlab": "dmlab", "rwrl": "rwrl"}


def original_path(domain: str, src: str, *, task: str | None = None, game: str | None = None,
                  run: str | None = None, sequence_length: int | None = None,
                  challenge: str | None = None) -> str:
    """The path of one RL Unplugged dataset: `src` itself when neither `task` nor `game`
    is given, else built under `src` (a bucket copy holding `<suite dir>/`, or that
    suite directory itself):

      atari          <root>/<game>/run_<run, default 1>
      control_suite  <root>/<task>
      locomotion     <root>/<task>/seq<sequence_length, default the registry's>
      bsuite         <root>/<task>/<run, e.g. 0_0.1>/<seed>_full
      dmlab          <root>/<task>/<run, e.g. training_0>
      rwrl           <root>/combined_challenge_<challenge>/<task: domain/task>/
                     offline_rl_challenge_<run, default challenge>

    Raises:
      UnknownNameError: an unknown domain. ConfigError: a missing --game/--task/--run.
    """
    if domain not in SUITE_DIRS:
        raise UnknownNameError(f"unknown RL Unplugged domain {domain!r}; use one of "
                               f"{', '.join(SUITE_DIRS)}")
    src = src.rstrip("/")
    if task is None and game is None:
        return src
    root = f"{src}/{SUITE_DIRS[domain]}"
    if not _tf().io.gfile.isdir(root):
        root = src
    if domain == "atari":
        if game is None:
            raise ConfigError("rlu convert atari: give --game (e.g. Pong)")
        return f"{root}/{game}/run_{run or 1}"
    if task is None:
        raise ConfigError(f"rlu convert {domain}: give --task")
    if domain == "control_suite":
        return f"{root}/{task}"
    if domain == "locomotion":
        length = sequence_length or registry.get_original_task(task, "dm_locomotion"
                                                               ).sequence_length
        return f"{root}/{task}/seq{length}"
    if run is None and domain in ("bsuite", "dmlab"):
        raise ConfigError(f"rlu convert {domain}: give --run (e.g. "
                          f"{'0_0.0' if domain == 'bsuite' else 'training_0'})")
    if domain == "bsuite":
        return f"{root}/{task}/{run}/{run.split('_')[0]}_full"
    if domain == "dmlab":
        return f"{root}/{task}/{run}"
    challenge = challenge or run or "easy"
    return (f"{root}/combined_challenge_{challenge}/{task}/"
            f"offline_rl_challenge_{run or challenge}")


def open_original(path: str, *, num_actions: int | None = None, camera: bool = False) -> Source:
    """The source of an RL Unplugged path (its suite read off the path):

      .../<Game>/run_<n>                          Atari
      .../dm_control_suite/<task>                 DM Control Suite
      .../dm_locomotion/<task>/seq<L>             DM Locomotion (`camera`: read the camera)
      .../bsuite/<env>/<seed>_<noise>/<seed>_full bsuite
      .../dmlab/<task>/<run>                      DMLab
      .../offline_rl_challenge_<d>                RWRL

    Raises:
      ConfigError: a path of none of these forms. NotFoundError: no shards there.
      UnknownNameError: a task the registry does not list.
    """
    from rl_unplugged.data import rlu_originals_dmlab as dmlab
    from rl_unplugged.data import rlu_originals_sequences as seq

    path = path.rstrip("/")
    parts = path.split("/")

    def under(depth: int, name: str) -> bool:
        return len(parts) > depth and parts[-1 - depth] == name

    if re.search(r"/run_\d+$", path) or re.fullmatch(r"[^/]+/run_\d+", path):
        return AtariSource(path, num_actions=num_actions or ATARI_ACTIONS)
    if under(1, "dm_control_suite"):
        return seq.ControlSuiteSource(path)
    if under(2, "dm_locomotion"):
        return seq.LocomotionSource(path, camera=camera)
    if under(3, "bsuite"):
        return seq.BsuiteSource(path)
    if under(2, "dmlab"):
        return dmlab.DMLabSource(path)
    if os.path.basename(path).startswith("offline_rl_challenge_"):
        return RWRLSource(path)
    raise ConfigError(f"rlu-gcs:{path}: expected <root>/<Game>/run_<n> (Atari), "
                      f"<root>/dm_control_suite/<task>, <root>/dm_locomotion/<task>/seq<L>, "
                      f"<root>/bsuite/<env>/<seed>_<noise>/<seed>_full, "
                      f"<root>/dmlab/<task>/<run> or <root>/combined_challenge_<c>/"
                      f"<domain>/<task>/offline_rl_challenge_<d> (RWRL)")

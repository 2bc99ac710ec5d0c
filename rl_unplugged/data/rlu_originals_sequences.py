"""RL Unplugged's sequence files (DM Control Suite, DM Locomotion, bsuite) as `Source`s.

All three store GZIP TFRecords of tf.Examples, each a sequence ("window") of L steps
with one flat list per feature (L entries per step): `observation...`, `action`,
`reward`, `discount`, `step_type` (dm_env's FIRST 0, MID 1, LAST 2), `episodic_reward`
(not kept). Step k of a window is (o_k, a_k, r_k, d_k): the reward and discount that
followed a_k, as the original loaders pair them (`_build_sarsa_example`: r_t = reward[0]
and p_t = discount[0] go with o_tm1 = observation[0] and a_tm1 = action[0]). So the
files' RSA order (a reward logged after its action) is the store's SAR step as is.

Windows become episodes in file order:
  * a window continues the episode of the window before it when it overlaps it: its
    first m >= 1 steps have the observations of that window's last m steps (SARSA
    windows share one step; DM Locomotion's 40-step windows may share more), and its
    first step is not FIRST; the episode gains the window's steps after the overlap;
  * the episode ends at its first LAST step, or at the step after a zero discount:
    terminated when the discount of the transition into that step is 0, else
    truncated (a time limit: dm_env's LAST with discount 1). Steps after the end in
    the same window are the adder's padding and are not read. A window that continues
    an ended episode (it overlaps it) adds nothing;
  * otherwise (no overlap, or a FIRST step) the open episode is cut there: it is kept
    as a truncated piece (its last step is the final observation), and the window
    starts a new one. Windows that share no step cannot be chained: the transition
    between them is in neither. Chaining does not cross files (unlike Atari rows,
    `rlu_originals.AtariSource`): an episode split over two shards comes out as two pieces.

Per suite:
  * DM Control Suite (`<root>/dm_control_suite/<task>/train-<i:05d>-of-<N:05d>`):
    float lists `observation/<key>`, action (A,) in [-1, 1]; keys and shapes from
    `registry.RLU_CONTROL_SUITE`, flattened in that order.
  * DM Locomotion (`<root>/dm_locomotion/<task>/seq<L>/train-<i:05d>-of-<N:05d>`):
    as above with `observation/walker/<key>` proprio float lists
    (`registry.RLU_LOCOMOTION`) and the egocentric camera as one raw-bytes string of
    64 * 64 * 3 uint8 per step. The camera is not read unless `camera=True`; then it is
    appended to the flat observation (float32 of the 0..255 values, (64, 64, 3) C
    order) after the proprio keys.
  * bsuite (`<root>/bsuite/<env>/<seed>_<noise>/<seed>_full-<i:05d>-of-<N:05d>`):
    `observation` float list of the environment's shape, `action` and `step_type`
    int64 lists; the task is the registered bsuite task (`registry.RLU_BSUITE`). The
    colab's loader multiplies the discount by (next step is not LAST), i.e. it treats
    every episode end as terminal; the store keeps the environment's discount instead,
    so a time-limit end (bsuite cartpole and mountain_car at 1000 steps) is truncated.

Errors (`CorruptDataError`, naming the file and, where known, the field): a damaged or
truncated shard, a file that is not GZIP, a missing feature, a feature whose length is
not L x its shape, discounts other than 0 and 1, a camera string of the wrong size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from rl_unplugged import registry
from rl_unplugged.data import adhoc
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.rlu_originals import (
    CONTROL_MAX_STEPS,
    _fingerprint,
    _read_errors,
    _signature,
    _tf,
    shard_files,
)
from rl_unplugged.data.sources import Source
from rl_unplugged.errors import ConfigError, CorruptDataError
from rl_unplugged.specs import ActionSpec, TaskSpec

FIRST, LAST = 0, 2  # dm_env.StepType values.
Window = dict[str, Any]  # {'observation': {key: (L, *shape)}, 'action', 'reward', ...}


def _take(window: Window, start: int, stop: int | None = None) -> Window:
    part = slice(start, stop)
    return {"observation": {k: v[part] for k, v in window["observation"].items()},
            **{k: window[k][part] for k in ("action", "reward", "discount", "step_type")}}


def _join(a: Window, b: Window) -> Window:
    return {"observation": {k: np.concatenate([v, b["observation"][k]])
                            for k, v in a["observation"].items()},
            **{k: np.concatenate([a[k], b[k]])
               for k in ("action", "reward", "discount", "step_type")}}


def overlap(before: Window, after: Window) -> int:
    """Steps `after` shares with the end of `before` (0: it does not continue it)."""
    if after["step_type"][0] == FIRST:
        return 0
    lb, la = len(before["reward"]), len(after["reward"])
    keys = list(before["observation"])
    first = {k: after["observation"][k][0] for k in keys}
    for m in range(min(lb, la), 0, -1):  # The longest overlap first (period < L).
        if all(np.array_equal(before["observation"][k][lb - m], first[k]) for k in keys) and all(
                np.array_equal(before["observation"][k][lb - m:], after["observation"][k][:m])
                for k in keys):
            return m
    return 0


def episode_end(steps: Window) -> int | None:
    """Index of the episode's final step within `steps` (module docstring), or None."""
    last = np.flatnonzero(steps["step_type"][1:] == LAST) + 1
    zero = np.flatnonzero(steps["discount"][:-1] == 0) + 1
    ends = [int(x[0]) for x in (last, zero) if len(x)]
    return min(ends) if ends else None


class SequenceSource(Source):
    """Windows of one suite's GZIP tf.Examples, chained into episodes (module docstring).

    Subclasses give `_features()` (the tf.io parse spec) and `_window(path, parsed)`.
    """

    _format = "rlu-sequence-tfrecord"

    def __init__(self, prefix: str, *, uri: str, name: str, task: TaskSpec,
                 label: dict[str, Any]):
        """Args: prefix: the shards' `<prefix>-<i:05d>-of-<N:05d>`; uri, name, task: the
        `Source`'s; label: metadata recorded in the store."""
        self._files = shard_files(prefix)
        self._label = label
        super().__init__(name=name, uri=f"rlu-gcs:{uri}", task=task)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": self._format, **self._label, "shards": len(self._files)}

    def fingerprint(self) -> str:
        return _fingerprint(self._files)

    def signature(self) -> dict[str, Any]:
        return _signature(self._files)

    def _features(self) -> dict[str, Any]:
        raise NotImplementedError

    def _window(self, path: str, parsed: dict[str, np.ndarray]) -> Window:
        raise NotImplementedError

    def _observation(self, observation: dict[str, np.ndarray]):
        """The episode's observations from the window's dict (a dict for keyed tasks)."""
        return observation

    def read_file(self, path: str) -> list[Window]:
        """One shard's windows, in file order."""
        tf = _tf()
        spec = self._features()
        ds = tf.data.TFRecordDataset(path, compression_type="GZIP").map(
            lambda r: tf.io.parse_single_example(r, spec))
        out = []
        try:
            for parsed in ds.as_numpy_iterator():
                for key, value in parsed.items():
                    if len(value) == 0:  # allow_missing: an absent feature parses empty.
                        raise CorruptDataError(f"{path}: field {key!r} missing")
                length = len(parsed["reward"])
                for key, value in parsed.items():
                    if len(value) != length:
                        raise CorruptDataError(f"{path}: field {key!r} has {len(value)} steps, "
                                               f"'reward' has {length}")
                if length < 2:
                    raise CorruptDataError(f"{path}: a sequence of {length} step(s); needs 2 "
                                           f"or more")
                out.append(self._window(path, parsed))
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            raise _read_errors(path, e) from None
        return out

    def _episode(self, path: str, steps: Window, final: int, episode_id: int) -> Episode:
        """The episode of `steps[:final + 1]` (step `final` is its last observation)."""
        disc = steps["discount"][:final]
        bad = (disc != 0) & (disc != 1)
        if np.any(bad):
            raise CorruptDataError(f"{path}: field 'discount' holds {disc[bad][0]}, expected "
                                   f"0 or 1")
        return Episode.from_rollout(
            observations=self._observation({k: v[:final + 1]
                                            for k, v in steps["observation"].items()}),
            actions=steps["action"][:final], rewards=steps["reward"][:final],
            terminated=bool(disc[-1] == 0), metadata={F.EPISODE_ID: episode_id})

    def iter_episodes(self) -> Iterator[Episode]:
        count = 0
        for path in self._files:
            steps: Window | None = None  # The open episode's steps.
            last: Window | None = None  # The window read before (of an open or ended episode).
            ended = False  # Whether `last` belongs to an episode already yielded.
            for window in self.read_file(path):
                shared = overlap(last, window) if last is not None else 0
                if ended and shared:
                    last = window  # The padded tail of an ended episode: nothing new.
                    continue
                if steps is not None and not shared:
                    yield self._episode(path, steps, len(steps["reward"]) - 1, count)
                    count, steps = count + 1, None
                steps = window if steps is None else _join(steps, _take(window, shared))
                last, ended = window, False
                final = episode_end(steps)
                if final is not None:
                    yield self._episode(path, steps, final, count)
                    count, steps, ended = count + 1, None, True
            if steps is not None:
                yield self._episode(path, steps, len(steps["reward"]) - 1, count)
                count += 1


def _floats(shape) -> Any:
    tf = _tf()
    return tf.io.FixedLenSequenceFeature(tuple(shape), tf.float32, allow_missing=True)


# -------------------------------------------------------------------- DM Control Suite


class ControlSuiteSource(SequenceSource):
    """RL Unplugged DM Control Suite sequences of one task (module docstring)."""

    _format = "rlu-control-suite-tfrecord"

    def __init__(self, directory: str):
        """Args: directory: `<root>/dm_control_suite/<task>`.

        Raises: UnknownNameError: a task the registry does not list. NotFoundError: no
        shards."""
        directory = directory.rstrip("/")
        self._spec = registry.get_original_task(os.path.basename(directory))
        task = adhoc.adhoc_task(
            f"rlu_control_suite_{self._spec.name}", observation_shape=(
                self._spec.observation_size,), observation_dtype="float32",
            action=ActionSpec.continuous([-1.0] * self._spec.action_shape[0],
                                         [1.0] * self._spec.action_shape[0]),
            max_episode_steps=CONTROL_MAX_STEPS, env_id=self._spec.name.replace("_", "/", 1),
            observation_keys=self._spec.observation_keys,
            description=f"RL Unplugged DM Control Suite {self._spec.name} (original files)")
        super().__init__(f"{directory}/train", uri=directory,
                         name=f"rlu_control_suite/{self._spec.name}",
                         task=task, label={"task": self._spec.name})

    def _features(self) -> dict[str, Any]:
        spec = {f"observation/{k}": _floats(s) for k, s in self._spec.observation_keys}
        spec.update({"action": _floats(self._spec.action_shape), "reward": _floats(()),
                     "discount": _floats(()), "step_type": _floats(())})
        return spec

    def _window(self, path: str, parsed: dict[str, np.ndarray]) -> Window:
        obs = {k[len("observation/"):]: v for k, v in parsed.items()
               if k.startswith("observation/")}
        return {"observation": obs, **{k: parsed[k] for k in (
            "action", "reward", "discount", "step_type")}}


# ------------------------------------------------------------------------ DM Locomotion

CAMERA = "walker/egocentric_camera"
LOCOMOTION_MAX_STEPS = 1500  # The longest time limit (30 s at 0.02 s control steps).


class LocomotionSource(SequenceSource):
    """RL Unplugged DM Locomotion sequences of one task (module docstring)."""

    _format = "rlu-locomotion-tfrecord"

    def __init__(self, directory: str, *, camera: bool = False):
        """Args: directory: `<root>/dm_locomotion/<task>/seq<L>`; camera: also read the
        egocentric camera (appended to the flat observation).

        Raises: UnknownNameError: a task the registry does not list. ConfigError: a
        directory not ending in seq<L>. NotFoundError: no shards."""
        directory = directory.rstrip("/")
        match = re.search(r"([^/]+)/seq(\d+)$", directory)
        if not match:
            raise ConfigError(f"rlu-gcs:{directory}: DM Locomotion paths end in "
                              f"dm_locomotion/<task>/seq<L>")
        self._spec = registry.get_original_task(match.group(1), "dm_locomotion")
        self._camera = camera
        keys = self._spec.observation_keys + (self._spec.pixel_keys if camera else ())
        size = sum(int(np.prod(s)) for _, s in keys)
        a = self._spec.action_shape[0]
        task = adhoc.adhoc_task(
            f"rlu_locomotion_{self._spec.name}" + ("_camera" if camera else ""),
            observation_shape=(size,), observation_dtype="float32",
            action=ActionSpec.continuous([-1.0] * a, [1.0] * a),
            max_episode_steps=LOCOMOTION_MAX_STEPS, env_id=f"dm_locomotion/{self._spec.name}",
            observation_keys=keys,
            description=f"RL Unplugged DM Locomotion {self._spec.name} (original files)")
        super().__init__(f"{directory}/train", uri=directory,
                         name=f"rlu_locomotion/{self._spec.name}_seq"
                                                    f"{match.group(2)}", task=task,
                         label={"task": self._spec.name, "sequence_length": int(match.group(2)),
                                "camera": camera})

    def _features(self) -> dict[str, Any]:
        tf = _tf()
        spec = {f"observation/{k}": _floats(s) for k, s in self._spec.observation_keys}
        if self._camera:
            spec[f"observation/{CAMERA}"] = tf.io.FixedLenSequenceFeature(
                (), tf.string, allow_missing=True)
        spec.update({"action": _floats(self._spec.action_shape), "reward": _floats(()),
                     "discount": _floats(()), "step_type": _floats(())})
        return spec

    def _window(self, path: str, parsed: dict[str, np.ndarray]) -> Window:
        obs = {k[len("observation/"):]: v for k, v in parsed.items()
               if k.startswith("observation/") and k != f"observation/{CAMERA}"}
        if self._camera:
            shape = dict(self._spec.pixel_keys)[CAMERA]
            raw = parsed[f"observation/{CAMERA}"]
            sizes = {len(b) for b in raw}
            if sizes != {int(np.prod(shape))}:
                raise CorruptDataError(f"{path}: field 'observation/{CAMERA}' holds "
                                       f"{sorted(sizes)} bytes per step, expected "
                                       f"{int(np.prod(shape))} ({shape} uint8)")
            obs[CAMERA] = np.frombuffer(b"".join(raw), np.uint8).reshape(len(raw), *shape)
        return {"observation": obs, **{k: parsed[k] for k in (
            "action", "reward", "discount", "step_type")}}


# ------------------------------------------------------------------------------- bsuite


class BsuiteSource(SequenceSource):
    """RL Unplugged bsuite sequences of one environment, seed and noise (module docstring)."""

    _format = "rlu-bsuite-tfrecord"

    def __init__(self, prefix: str):
        """Args: prefix: `<root>/bsuite/<env>/<seed>_<noise>/<seed>_full`.

        Raises: ConfigError: another path. UnknownNameError: an environment the registry
        does not list. NotFoundError: no shards."""
        prefix = prefix.rstrip("/")
        match = re.search(r"([^/]+)/([^/]+)/([^/]+_full)$", prefix)
        if not match:
            raise ConfigError(f"rlu-gcs:{prefix}: bsuite paths end in "
                              f"bsuite/<env>/<seed>_<noise>/<seed>_full")
        env, run = match.group(1), match.group(2)
        task = registry.get_rlu_bsuite_task(env)
        self._shape = task.observation.shape
        super().__init__(prefix, uri=prefix, name=f"rlu_bsuite_original/{env}_{run}", task=task,
                         label={"environment": env, "run": run})

    def _features(self) -> dict[str, Any]:
        tf = _tf()

        def ints():
            return tf.io.FixedLenSequenceFeature((), tf.int64, allow_missing=True)

        return {"observation": _floats(self._shape), "action": ints(), "reward": _floats(()),
                "discount": _floats(()), "step_type": ints()}

    def _window(self, path: str, parsed: dict[str, np.ndarray]) -> Window:
        return {"observation": {"observation": parsed["observation"]},
                **{k: parsed[k] for k in ("action", "reward", "discount", "step_type")}}

    def _observation(self, observation: dict[str, np.ndarray]):
        return observation["observation"]

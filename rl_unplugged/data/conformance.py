"""Conformance of episodes to the suite's RLDS layout (pure NumPy, no TensorFlow).

`check_episode` states every rule of the alignment documented in
`rl_unplugged.data.episode` as a check on one episode's step columns and metadata;
`check_dataset` runs it over a stream of episodes and returns a `ConformanceReport`.
The builders refuse a raw log that fails; `rlu datasets inspect` prints the report.

Rules, for an episode of T >= 1 transitions (T + 1 steps):
  * every step column has T + 1 entries;
  * is_first is set on step 0 only; is_last on step T only;
  * is_terminal is set on step T only, and only for a true termination: then
    discount[T - 1] == 0, else discount[T - 1] == 1; discount[k] == 1 for k < T - 1;
  * the last step is padding: action, reward, discount (and the extras) are 0;
  * metadata episode_return == sum of rewards, episode_length == T;
  * actions lie in [0, num_actions) when `num_actions` is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

from rl_unplugged.data import fields as F

# episode_return is stored in float64 by the raw log but may pass through float32.
_RETURN_RTOL = 1e-6
_RETURN_ATOL = 1e-4
_PADDED = (F.ACTION, F.REWARD, F.DISCOUNT, F.ACTION_REPLACED, F.GREEDY_ACTION)


def check_episode(steps: Mapping[str, np.ndarray], metadata: Mapping[str, object], *,
                  num_actions: int | None = None) -> list[str]:
    """Returns the problems of one episode (empty if it conforms).

    Args:
      steps: step columns (observation, action, reward, discount, is_first, is_last,
        is_terminal and optional extras), each with a leading axis of T + 1 steps.
      metadata: episode metadata (episode_return and episode_length at least).
      num_actions: if given, actions on steps 0..T-1 must lie in [0, num_actions).
    """
    problems = []
    missing = [k for k in F.STEP_FIELDS if k not in steps]
    if missing:
        return [f"missing step fields {missing}"]
    lengths = {k: len(v) for k, v in steps.items()}
    n = lengths[F.REWARD]
    if len(set(lengths.values())) != 1:
        return [f"step columns have different lengths {lengths}"]
    if n < 2:
        return [f"episode has {n} steps; needs at least 2 (one transition)"]
    t = n - 1
    is_first = np.asarray(steps[F.IS_FIRST], bool)
    is_last = np.asarray(steps[F.IS_LAST], bool)
    is_terminal = np.asarray(steps[F.IS_TERMINAL], bool)
    discount = np.asarray(steps[F.DISCOUNT], np.float64)
    reward = np.asarray(steps[F.REWARD], np.float64)

    if not is_first[0] or is_first[1:].any():
        problems.append(f"is_first set on steps {np.flatnonzero(is_first).tolist()}, "
                        "expected [0]")
    if not is_last[t] or is_last[:t].any():
        problems.append(f"is_last set on steps {np.flatnonzero(is_last).tolist()}, "
                        f"expected [{t}]")
    if is_terminal[:t].any():
        problems.append(f"is_terminal set before the last step (steps "
                        f"{np.flatnonzero(is_terminal[:t]).tolist()})")
    expected_last_discount = 0.0 if is_terminal[t] else 1.0
    if discount[t - 1] != expected_last_discount:
        kind = "terminal" if is_terminal[t] else "non-terminal (truncated)"
        problems.append(f"discount of step {t - 1} is {discount[t - 1]:g} but the episode is "
                        f"{kind}: expected {expected_last_discount:g}")
    bad = np.flatnonzero(discount[:t - 1] != 1.0)
    if bad.size:
        problems.append(f"discount != 1 before the last transition (steps {bad.tolist()})")
    for key in _PADDED:
        if key in steps and np.asarray(steps[key])[t] != 0:
            problems.append(f"last step is not padding: {key} = {np.asarray(steps[key])[t]}")
    if num_actions is not None:
        actions = np.asarray(steps[F.ACTION])[:t]
        out = np.flatnonzero((actions < 0) | (actions >= num_actions))
        if out.size:
            problems.append(f"actions outside [0, {num_actions}) on steps {out.tolist()}")

    if F.EPISODE_RETURN not in metadata:
        problems.append("metadata has no episode_return")
    else:
        total = float(reward.sum())
        ret = float(metadata[F.EPISODE_RETURN])
        if not np.isclose(ret, total, rtol=_RETURN_RTOL, atol=_RETURN_ATOL):
            problems.append(f"episode_return {ret!r} != sum of rewards {total!r}")
    if F.EPISODE_LENGTH not in metadata:
        problems.append("metadata has no episode_length")
    elif int(metadata[F.EPISODE_LENGTH]) != t:
        problems.append(f"episode_length {metadata[F.EPISODE_LENGTH]} != {t} transitions")
    return problems


@dataclasses.dataclass
class ConformanceReport:
    """Counts over a dataset and its problems as (episode_id, message) pairs."""

    num_episodes: int = 0
    num_steps: int = 0
    num_transitions: int = 0
    num_terminal: int = 0  # Episodes ending in a true termination (others: truncated).
    problems: list[tuple[int, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, max_problems: int = 10) -> str:
        head = (f"{self.num_episodes} episodes, {self.num_transitions} transitions "
                f"({self.num_terminal} terminated, "
                f"{self.num_episodes - self.num_terminal} truncated): ")
        if self.ok:
            return head + "conforms"
        lines = [head + f"{len(self.problems)} problems"]
        lines += [f"  episode {i}: {m}" for i, m in self.problems[:max_problems]]
        if len(self.problems) > max_problems:
            lines.append(f"  ... {len(self.problems) - max_problems} more")
        return "\n".join(lines)


def check_dataset(episodes: Iterable, *, num_actions: int | None = None) -> ConformanceReport:
    """Checks every episode and that episode ids are unique.

    Args:
      episodes: `Episode`s, or (steps, metadata) pairs, e.g. from `RawLog.iter_episodes()`
        or `tfds.as_numpy` of an RLDS dataset.
      num_actions: passed to `check_episode`.
    """
    report = ConformanceReport()
    seen: set[int] = set()
    for index, item in enumerate(episodes):
        steps, metadata = (item.steps, item.metadata) if hasattr(item, "steps") else item
        episode_id = int(metadata.get(F.EPISODE_ID, -1))
        if F.EPISODE_ID not in metadata:
            report.problems.append((episode_id, f"episode #{index} has no episode_id"))
        elif episode_id in seen:
            report.problems.append((episode_id, "duplicate episode_id"))
        seen.add(episode_id)
        n = len(steps[F.REWARD])
        report.num_episodes += 1
        report.num_steps += n
        report.num_transitions += max(n - 1, 0)
        report.num_terminal += bool(n and np.asarray(steps.get(F.IS_TERMINAL, [False]))[-1])
        report.problems += [(episode_id, p)
                            for p in check_episode(steps, metadata, num_actions=num_actions)]
    return report

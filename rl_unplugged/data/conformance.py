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
  * actions lie in the task's action space when it is given: discrete actions in
    [0, num_values), continuous action vectors of shape (A,) within [minimum, maximum];
  * observations hold no NaN.

`check_block` applies the same rules to many episodes at once (whole episodes
concatenated, as a raw-log shard holds them) with vectorised NumPy, and asks
`check_episode` for the messages of the few episodes it flags; the store
(`rl_unplugged.data.store.materialize`) checks every block it writes with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np

from rl_unplugged.data import fields as F
from rl_unplugged.specs import ActionSpec

# episode_return is stored in float64 by the raw log but may pass through float32.
_RETURN_RTOL = 1e-6
_RETURN_ATOL = 1e-4
_PADDED = (F.ACTION, F.REWARD, F.DISCOUNT, F.ACTION_REPLACED, F.AGENT_ACTION,
           F.GREEDY_ACTION)


def _action_spec(num_actions: int | None, action: ActionSpec | None) -> ActionSpec | None:
    if action is not None:
        return action
    return None if num_actions is None else ActionSpec.discrete(num_actions)


def _bad_actions(actions: np.ndarray, spec: ActionSpec) -> np.ndarray:
    """Mask over (T, ...) actions: outside the action space (per action, not per entry)."""
    if spec.is_discrete:
        return (actions < 0) | (actions >= spec.num_values) if actions.ndim == 1 \
            else np.ones(len(actions), bool)
    if actions.ndim != 2 or actions.shape[1:] != spec.shape:
        return np.ones(len(actions), bool)
    lo, hi = np.asarray(spec.minimum), np.asarray(spec.maximum)
    return ~np.all((actions >= lo) & (actions <= hi), axis=1)  # NaN fails both.


def _length(column) -> int:
    """Steps in a column (a dict observation: its entries' leading axis)."""
    if isinstance(column, Mapping):
        return min((len(v) for v in column.values()), default=0)
    return len(column)


def _nan_rows(observation) -> np.ndarray | None:
    if isinstance(observation, Mapping):
        rows = [r for r in map(_nan_rows, observation.values()) if r is not None]
        return np.logical_or.reduce(rows) if rows else None
    obs = np.asarray(observation)
    if not np.issubdtype(obs.dtype, np.floating):
        return None
    return np.isnan(obs.reshape(len(obs), -1)).any(axis=1)


def check_episode(steps: Mapping[str, np.ndarray], metadata: Mapping[str, object], *,
                  num_actions: int | None = None,
                  action: ActionSpec | None = None) -> list[str]:
    """Returns the problems of one episode (empty if it conforms).

    Args:
      steps: step columns (observation, action, reward, discount, is_first, is_last,
        is_terminal and optional extras), each with a leading axis of T + 1 steps.
      metadata: episode metadata (episode_return and episode_length at least).
      num_actions: if given, actions on steps 0..T-1 must lie in [0, num_actions).
      action: the task's action space (instead of `num_actions`): discrete actions in
        range, continuous (T + 1, A) vectors within the bounds.
    """
    problems = []
    missing = [k for k in F.STEP_FIELDS if k not in steps]
    if missing:
        return [f"missing step fields {missing}"]
    lengths = {k: _length(v) for k, v in steps.items()}
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
        if key in steps and np.any(np.asarray(steps[key])[t] != 0):
            problems.append(f"last step is not padding: {key} = {np.asarray(steps[key])[t]}")
    spec = _action_spec(num_actions, action)
    if spec is not None:
        out = np.flatnonzero(_bad_actions(np.asarray(steps[F.ACTION])[:t], spec))
        if out.size:
            where = (f"[0, {spec.num_values})" if spec.is_discrete
                     else f"the action space {spec.describe()} (shape {spec.shape})")
            problems.append(f"actions outside {where} on steps {out.tolist()}")
    nan = _nan_rows(steps[F.OBSERVATION])
    if nan is not None and nan.any():
        problems.append(f"observation holds NaN on steps {np.flatnonzero(nan).tolist()}")

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


def check_dataset(episodes: Iterable, *, num_actions: int | None = None,
                  action: ActionSpec | None = None) -> ConformanceReport:
    """Checks every episode and that episode ids are unique.

    Args:
      episodes: `Episode`s, or (steps, metadata) pairs, e.g. from `RawLog.iter_episodes()`
        or `tfds.as_numpy` of an RLDS dataset.
      num_actions, action: passed to `check_episode`.
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
                            for p in check_episode(steps, metadata, num_actions=num_actions,
                                                   action=action)]
    return report


def check_block(steps: Mapping[str, np.ndarray], metadata: Mapping[str, np.ndarray], *,
                action: ActionSpec | None = None) -> list[tuple[int, str]]:
    """The problems of whole episodes concatenated, as (episode_id, message) pairs.

    The same rules as `check_episode` (episode ids unique within the block), found with
    array operations over the block; the flagged episodes are then re-checked one by one
    for their messages.

    Args:
      steps: step columns over S steps of E whole episodes (leading axis S).
      metadata: episode metadata columns (leading axis E, in the episodes' order);
        episode_id, episode_return and episode_length at least.
      action: the task's action space.
    """
    missing = [k for k in F.STEP_FIELDS if k not in steps]
    if missing:
        return [(-1, f"missing step fields {missing}")]
    lengths = {k: _length(v) for k, v in steps.items()}
    if len(set(lengths.values())) != 1:
        return [(-1, f"step columns have different lengths {lengths}")]
    is_first = np.asarray(steps[F.IS_FIRST], bool)
    is_last = np.asarray(steps[F.IS_LAST], bool)
    ids = np.asarray(metadata.get(F.EPISODE_ID, []), np.int64)
    starts = np.flatnonzero(is_first)
    n = len(is_first)
    if (n == 0 or not is_first[0] or not is_last[-1] or np.any(is_first[1:] != is_last[:-1])
            or len(starts) != len(ids)):
        # Boundaries themselves are broken: fall back to the per-episode checker over
        # the episodes the step ids delimit (rare; only ever on bad data).
        return _check_slow(steps, metadata, action)
    ends = np.append(starts[1:], n)  # Exclusive; the last step of an episode is ends - 1.
    last = ends - 1
    episode_of = np.repeat(np.arange(len(starts)), ends - starts)
    bad = (ends - starts) < 2
    if len(np.unique(ids)) != len(ids):
        bad |= np.isin(ids, ids[np.flatnonzero(np.diff(np.sort(ids)) == 0)])
    not_last = np.ones(n, bool)
    not_last[last] = False
    terminal = np.asarray(steps[F.IS_TERMINAL], bool)
    bad[episode_of[terminal & not_last]] = True
    discount = np.asarray(steps[F.DISCOUNT], np.float64)
    expected = np.ones(n)
    ok_len = (ends - starts) >= 2
    expected[last[ok_len] - 1] = np.where(terminal[last[ok_len]], 0.0, 1.0)
    wrong = not_last & (discount != expected)
    bad[episode_of[wrong]] = True
    for key in _PADDED:
        if key in steps:
            value = np.asarray(steps[key])[last]
            bad |= (value != 0).reshape(len(last), -1).any(axis=1)
    spec = action
    if spec is not None:
        actions = np.asarray(steps[F.ACTION])
        bad[episode_of[_bad_actions(actions, spec) & not_last]] = True
    nan = _nan_rows(steps[F.OBSERVATION])
    if nan is not None:
        bad[episode_of[nan]] = True
    reward = np.asarray(steps[F.REWARD], np.float64)
    if F.EPISODE_RETURN not in metadata or F.EPISODE_LENGTH not in metadata:
        return _check_slow(steps, metadata, action)
    totals = np.add.reduceat(reward, starts)
    returns = np.asarray(metadata[F.EPISODE_RETURN], np.float64)
    bad |= ~np.isclose(returns, totals, rtol=_RETURN_RTOL, atol=_RETURN_ATOL)
    bad |= np.asarray(metadata[F.EPISODE_LENGTH], np.int64) != (ends - starts - 1)
    problems = []
    seen: dict[int, int] = {}
    for i in np.flatnonzero(bad):
        episode_id = int(ids[i])
        meta = {k: np.asarray(v)[i].item() for k, v in metadata.items()}
        found = check_episode({k: v[starts[i]:ends[i]] for k, v in steps.items()}, meta,
                              action=action)
        if np.count_nonzero(ids == episode_id) > 1:
            seen[episode_id] = seen.get(episode_id, 0) + 1
            if seen[episode_id] == 2:
                found.append("duplicate episode_id")
        problems += [(episode_id, p) for p in found]
    return problems


def _check_slow(steps: Mapping[str, np.ndarray], metadata: Mapping[str, np.ndarray],
                action: ActionSpec | None) -> list[tuple[int, str]]:
    """Per-episode checks of a block whose boundaries disagree with its metadata."""
    is_first = np.asarray(steps.get(F.IS_FIRST, []), bool)
    starts = np.flatnonzero(is_first)
    if len(is_first) and (len(starts) == 0 or starts[0] != 0):
        starts = np.concatenate([[0], starts])
    ends = np.append(starts[1:], len(is_first))
    num = min((len(np.asarray(v)) for v in metadata.values()), default=0)
    problems = []
    if len(starts) != num:
        problems.append((-1, f"{len(starts)} episodes in the steps (by is_first), {num} in "
                             "the metadata"))
    report = check_dataset(
        (({k: v[s:e] for k, v in steps.items()},
          {k: np.asarray(v)[i].item() for k, v in metadata.items()})
         for i, (s, e) in enumerate(zip(starts[:num], ends[:num], strict=True))),
        action=action)
    return problems + report.problems

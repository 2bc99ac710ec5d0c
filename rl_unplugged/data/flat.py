"""Episodes from flat per-transition arrays (D4RL files, npz exports).

Flat datasets hold one row per transition: observation, action, reward, and flags
saying how the row ends its episode. `episodes_from_flat` cuts them into the suite's
RLDS episodes (`rl_unplugged.data.episode`):

  * an episode ends on a row with `terminal` (a true termination: discount 0, and
    is_terminal on its last step) or `truncated` (the time limit, or any other cut:
    discount stays 1), or where `episode_id` changes, or at the last row (a cut:
    truncated); `terminal` wins when both flags are set;
  * with `next_observation`, the final observation of each episode is the
    next_observation of its last row, and every row is kept; inside an episode it must
    equal the next row's observation (one observation sequence per episode), else
    `CorruptDataError` names the row;
  * without it (D4RL files that lack `next_observations`), o_{k+1} is the next row's
    observation. An episode cut by truncation then loses its last row (its next
    observation is not in the file: the same row `d4rl.qlearning_dataset` drops), and
    a one-row truncated episode is dropped whole. A terminated episode keeps every row;
    its final observation (never used: the discount is 0) repeats the last observation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.errors import CorruptDataError


def episode_bounds(terminal: np.ndarray, truncated: np.ndarray,
                   episode_id: np.ndarray | None = None) -> list[tuple[int, int, bool]]:
    """[(start, stop, terminated)] row ranges of the episodes (see the module docstring)."""
    n = len(terminal)
    terminal = np.asarray(terminal, bool)
    ends = terminal | np.asarray(truncated, bool)
    if episode_id is not None and n:
        ids = np.asarray(episode_id)
        ends[:-1] |= ids[1:] != ids[:-1]
    if n:
        ends[-1] = True
    stops = np.flatnonzero(ends) + 1
    starts = np.concatenate([[0], stops[:-1]]).astype(int)
    return [(int(s), int(e), bool(terminal[e - 1])) for s, e in zip(starts, stops, strict=True)]


def episodes_from_flat(*, observation: np.ndarray, action: np.ndarray, reward: np.ndarray,
                       terminal: np.ndarray, truncated: np.ndarray,
                       next_observation: np.ndarray | None = None,
                       episode_id: np.ndarray | None = None,
                       first_id: int = 0, where: str = "") -> Iterator[Episode]:
    """The episodes of flat transition rows, in row order.

    Args:
      observation: (N, *obs) observations; action: (N,) integers or (N, A) floats;
      reward: (N,) rewards; terminal, truncated: (N,) flags (see the module docstring).
      next_observation: (N, *obs), or None (then o_{k+1} is the next row's observation).
      episode_id: (N,) ids (kept as the episodes' ids), or None (ids counted from
        `first_id` in order).
      first_id: the first counted id.
      where: the file, named in errors.

    Yields:
      `Episode`s with metadata episode_id, episode_return and episode_length.
    """
    counted = first_id
    for start, stop, terminated in episode_bounds(terminal, truncated, episode_id):
        if next_observation is not None:
            inner = np.flatnonzero(np.any(
                (next_observation[start:stop - 1] != observation[start + 1:stop]).reshape(
                    stop - 1 - start, -1), axis=1)) if stop - start > 1 else ()
            if len(inner):
                raise CorruptDataError(f"{where}: next_observation of row {start + inner[0]} "
                                       f"differs from the observation of row "
                                       f"{start + inner[0] + 1} in the same episode")
            obs = np.concatenate([observation[start:stop], next_observation[stop - 1:stop]])
        elif terminated:
            obs = np.concatenate([observation[start:stop], observation[stop - 1:stop]])
        else:
            stop -= 1  # Its next observation is not in the file.
            if stop <= start:
                counted += 1
                continue
            obs = observation[start:stop + 1]
        eid = int(episode_id[start]) if episode_id is not None else counted
        counted += 1
        yield Episode.from_rollout(observations=obs, actions=action[start:stop],
                                   rewards=reward[start:stop], terminated=terminated,
                                   metadata={F.EPISODE_ID: eid})

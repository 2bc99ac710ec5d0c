"""Tiny in-memory sources for store and source tests (episodes from a task spec)."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from rl_unplugged import registry
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.sources import Source
from rl_unplugged.specs import ActionSpec, TaskSpec

CARTPOLE = registry.get_task("classic/cartpole")  # Observations (4,) float32, 2 actions.
CONTINUOUS = dataclasses.replace(CARTPOLE, num_actions=None,
                                 action=ActionSpec.continuous([-1.0, 0.0], [1.0, 2.0]))
DICT_OBS = dataclasses.replace(CARTPOLE, observation_keys=(("position", (2,)),
                                                           ("velocity", (2,))))


def make_episodes(task: TaskSpec, lengths, *, seed: int = 0) -> list[Episode]:
    """Episodes of the given lengths; even ones terminate, odd ones are truncated."""
    rng = np.random.default_rng(seed)
    out = []
    for i, n in enumerate(lengths):
        if task.is_discrete:
            actions = rng.integers(task.action.num_values, size=n)
        else:
            actions = rng.uniform(task.action.minimum, task.action.maximum,
                                  size=(n, *task.action.shape))
        obs = rng.normal(size=(n + 1, *task.observation.shape)).astype(np.float32)
        if task.observation_keys:
            obs = {"position": obs[:, :2], "velocity": obs[:, 2:]}
        out.append(Episode.from_rollout(
            observations=obs, actions=actions,
            rewards=rng.normal(size=n).astype(np.float32), terminated=i % 2 == 0,
            metadata={F.EPISODE_ID: i, F.CHECKPOINT: i // 2}))
    return out


class ListSource(Source):
    """Episodes held in a list (how a TFDS or Minari source would look to the store)."""

    def __init__(self, task: TaskSpec, episodes: list[Episode], name: str = "test/list"):
        self._task, self._episodes, self._name = task, episodes, name

    @property
    def name(self) -> str:
        return self._name

    @property
    def uri(self) -> str:
        return f"memory://{self._name}"

    @property
    def task(self) -> TaskSpec:
        return self._task

    @property
    def metadata(self) -> dict:
        return {"num_transitions": sum(e.num_transitions for e in self._episodes)}

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for ep in self._episodes:
            h.update(np.ascontiguousarray(ep.steps[F.REWARD]).tobytes())
        return h.hexdigest()

    def iter_episodes(self):
        yield from self._episodes

"""Frozen specifications of tasks and datasets.

Everything else in the suite (environment factories, dataset builders, loaders,
learners, evaluation protocols) derives from these specs through
`rl_unplugged.registry`, so task metadata is written down exactly once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np

DOMAINS = ("bsuite", "minatar", "classic")
# Probability that the executed action is replaced by a uniformly random one, as in
# RL Unplugged's bsuite data (Gulcehre et al. 2020, Appendix).
NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
LEVELS = ("replay", "random", "expert")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArraySpec:
    """Shape and dtype of one array (observations)."""

    shape: tuple[int, ...]
    dtype: str

    def __post_init__(self):
        np.dtype(self.dtype)  # Raises TypeError on an unknown dtype name.
        if any(d <= 0 for d in self.shape):
            raise ValueError(f"ArraySpec shape must be positive, got {self.shape}")

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BehaviourConfig:
    """Online double-DQN that plays (and logs) the `replay` level of a task.

    Defaults follow bsuite's example DQN (MLP [56, 56]... see `hidden`), with the
    Atari-DQN habit of one SGD step every `update_period` environment steps.
    """

    num_steps: int  # Environment steps of one logged learning run.
    hidden: tuple[int, ...] = (64, 64)  # MLP widths (torso for vector observations).
    learning_rate: float = 3e-4
    batch_size: int = 32
    replay_capacity: int = 100_000
    min_replay_size: int = 1_000  # Steps before the first SGD step.
    update_period: int = 1  # Environment steps per SGD step.
    target_update_period: int = 1_000  # SGD steps between target-network copies.
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_steps: int = 10_000  # Linear decay of exploration epsilon.
    checkpoint_every_episodes: int = 100  # Agent checkpoint interval (episodes).

    def __post_init__(self):
        for name in ("num_steps", "batch_size", "replay_capacity", "update_period",
                     "target_update_period", "checkpoint_every_episodes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"BehaviourConfig.{name} must be > 0")
        if not 0.0 <= self.epsilon_end <= self.epsilon_start <= 1.0:
            raise ValueError("BehaviourConfig needs 0 <= epsilon_end <= epsilon_start <= 1")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One environment task of the suite.

    Attributes:
      domain: one of `DOMAINS`; also names the TFDS builder `rlu_<domain>`.
      name: task name inside the domain, e.g. 'catch' or 'breakout'.
      env_id: identifier the backend understands ('catch/0', 'CartPole-v1', ...).
      observation: spec of one observation as stored in datasets.
      num_actions: size of the discrete action space.
      max_episode_steps: time limit; reaching it truncates (is_terminal=False).
      gamma: discount used by learners and evaluation on this task.
      network: torso for learners, 'mlp' (vector observations) or 'cnn' (MinAtar).
      sticky_action_prob: MinAtar sticky actions (MinAtar's default 0.1); 0 elsewhere.
      behaviour: the online agent that generates the `replay` level.
      num_runs: number of logged runs (seeds) per level.
      description: one line for tables and dataset cards.
    """

    domain: str
    name: str
    env_id: str
    observation: ArraySpec
    num_actions: int
    max_episode_steps: int
    gamma: float
    network: str
    behaviour: BehaviourConfig
    sticky_action_prob: float = 0.0
    num_runs: int = 3
    description: str = ""

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"unknown domain {self.domain!r}; valid: {DOMAINS}")
        if self.network not in ("mlp", "cnn"):
            raise ValueError(f"network must be 'mlp' or 'cnn', got {self.network!r}")
        if self.num_actions < 2 or self.max_episode_steps < 1 or self.num_runs < 1:
            raise ValueError(f"invalid TaskSpec sizes for {self.name!r}")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma}")

    @property
    def id(self) -> str:
        return f"{self.domain}/{self.name}"


def level_tag(level: str, noise: float) -> str:
    """Config-name fragment: 'noise0', 'noise10', ..., 'random', 'expert'."""
    if level == "replay":
        return f"noise{round(noise * 100)}"
    return level


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """One dataset = (task, level, noise, run): a TFDS config of `rlu_<domain>`.

    Levels:
      replay: every episode an online double DQN played while learning, with the
        executed action replaced by a uniform one with probability `noise`.
      random: a uniformly random policy.
      expert: greedy rollouts of the best checkpoint (highest mean logged return of
        the episodes it played) of the `noise0` replay run with the same run index.
    `num_steps` is the number of environment steps (transitions) logged; episodes
    are never cut short to meet it (the last episode runs to its end).
    """

    task: TaskSpec
    level: str
    noise: float
    run: int
    num_steps: int

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; valid: {LEVELS}")
        if self.level == "replay" and self.noise not in NOISE_LEVELS:
            raise ValueError(f"invalid noise {self.noise!r}; valid: {NOISE_LEVELS}")
        if self.level != "replay" and self.noise != 0.0:
            raise ValueError(f"level {self.level!r} takes no action noise")
        if not 0 <= self.run < self.task.num_runs:
            raise ValueError(
                f"invalid run {self.run} for {self.task.id}; valid: 0..{self.task.num_runs - 1}")
        if self.num_steps <= 0:
            raise ValueError("num_steps must be > 0")

    @property
    def config_name(self) -> str:
        return f"{self.task.name}_{level_tag(self.level, self.noise)}_run{self.run}"

    @property
    def builder_name(self) -> str:
        return f"rlu_{self.task.domain}"

    @property
    def name(self) -> str:
        """Full TFDS name, e.g. 'rlu_bsuite/catch_noise0_run0'."""
        return f"{self.builder_name}/{self.config_name}"

    @property
    def seed(self) -> int:
        """Seed of this dataset's generation: a pure function of (task, level, run)."""
        key = f"{self.task.id}|{self.level}|{self.noise}|{self.run}"
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little")

    def replace(self, **changes) -> DatasetSpec:
        return dataclasses.replace(self, **changes)

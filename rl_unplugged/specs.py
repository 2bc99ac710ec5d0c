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

# "imported": ad-hoc tasks of imported datasets (`rl_unplugged.data.adhoc`); no builder.
# "atari": RL Unplugged's Atari games, whose data come from RL Unplugged's own files
# (`TaskSpec.behaviour` None: no dataset is built here).
DOMAINS = ("bsuite", "minatar", "classic", "control", "mujoco", "imported", "atari")
# Torsos of the learners' networks (`rl_unplugged.networks.make_torso`).
NETWORKS = ("mlp", "cnn", "nature_cnn")
# Action noise of the replay levels. Discrete tasks: probability that the executed
# action is replaced by a uniformly random one, as in RL Unplugged's bsuite data
# (Gulcehre et al. 2020, Appendix). Continuous tasks: added in quadrature to the
# D4PG's exploration std, per action half-width (`generation/continuous.py`).
NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
LEVELS = ("replay", "random", "expert")
# D4RL-style fixed-policy levels (Fu et al. 2020), defined for continuous tasks only
# (`generation/d4rl_levels.py`): the expert level above plus these three.
CONTINUOUS_LEVELS = ("medium", "medium_replay", "medium_expert")
# The levels a continuous task makes from its replay run (`generation/d4rl_levels.py`).
D4RL_LEVELS = ("expert", *CONTINUOUS_LEVELS)
# Gaussian action-noise std (per half width of the bounds) with which the expert and
# medium checkpoints play (TD3's exploration noise; the D4PG's own 0.3 halved Hopper's
# expert return, `datasets/behaviour_competence.md`).
FIXED_POLICY_SIGMA = 0.1


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


ACTION_KINDS = ("discrete", "continuous")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ActionSpec:
    """The action space of a task: discrete (one integer) or continuous (a float vector).

    Attributes:
      kind: 'discrete' (actions are int32 scalars in [0, num_values)) or 'continuous'
        (actions are float32 vectors of `shape`, each entry in [minimum, maximum]).
      num_values: number of discrete actions (discrete only).
      shape: () for discrete; (A,) for continuous.
      minimum, maximum: per-dimension bounds (continuous only), length A.
    """

    kind: str
    num_values: int | None = None
    shape: tuple[int, ...] = ()
    minimum: tuple[float, ...] | None = None
    maximum: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}; valid: {ACTION_KINDS}")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.kind == "discrete":
            if self.num_values is None or self.num_values < 2 or self.shape != ():
                raise ValueError("a discrete ActionSpec needs num_values >= 2 and shape ()")
            if self.minimum is not None or self.maximum is not None:
                raise ValueError("a discrete ActionSpec takes no bounds")
            return
        if self.num_values is not None or len(self.shape) != 1 or self.shape[0] < 1:
            raise ValueError("a continuous ActionSpec needs shape (A,) and no num_values")
        for name in ("minimum", "maximum"):
            bound = getattr(self, name)
            if bound is None or len(bound) != self.shape[0]:
                raise ValueError(f"a continuous ActionSpec needs {name} of length "
                                 f"{self.shape[0]}")
            object.__setattr__(self, name, tuple(float(b) for b in bound))
        if any(lo > hi for lo, hi in zip(self.minimum, self.maximum, strict=True)):
            raise ValueError("ActionSpec minimum must be <= maximum")

    @classmethod
    def discrete(cls, num_values: int) -> ActionSpec:
        return cls(kind="discrete", num_values=int(num_values))

    @classmethod
    def continuous(cls, minimum, maximum) -> ActionSpec:
        minimum, maximum = tuple(minimum), tuple(maximum)
        return cls(kind="continuous", shape=(len(minimum),), minimum=minimum, maximum=maximum)

    @property
    def is_discrete(self) -> bool:
        return self.kind == "discrete"

    @property
    def dtype(self) -> str:
        """Stored dtype of actions: int32 (discrete) or float32 (continuous)."""
        return "int32" if self.is_discrete else "float32"

    @property
    def size(self) -> int:
        """Network outputs per action choice: num_values (discrete) or A (continuous)."""
        return int(self.num_values) if self.is_discrete else self.shape[0]

    def describe(self) -> str:
        if self.is_discrete:
            return f"discrete ({self.num_values} actions)"
        return f"continuous ({self.shape[0]}-d in [{min(self.minimum)}, {max(self.maximum)}])"


def flatten_observation(observation, keys: tuple[tuple[str, tuple[int, ...]], ...]
                        ) -> np.ndarray:
    """A dict observation as one float32 vector, in the task's registered key order.

    Each entry is ravelled (C order) and the pieces concatenated in the order of `keys`
    ((name, shape) pairs, `TaskSpec.observation_keys`); a batch of dict observations
    (each value with a leading batch axis) flattens to (B, D). Missing or extra keys,
    and shapes other than registered, raise ValueError naming the key.
    """
    if set(observation) != {k for k, _ in keys}:
        missing = sorted({k for k, _ in keys} - set(observation))
        extra = sorted(set(observation) - {k for k, _ in keys})
        raise ValueError(f"observation keys differ from the registered order: missing "
                         f"{missing}, unexpected {extra}")
    parts = []
    batch = None
    for name, shape in keys:
        value = np.asarray(observation[name], np.float32)
        if value.shape == tuple(shape):
            lead = ()
        elif value.shape[1:] == tuple(shape):
            lead = value.shape[:1]
        else:
            raise ValueError(f"observation[{name!r}] has shape {value.shape}, registered "
                             f"{tuple(shape)}")
        if batch is None:
            batch = lead
        elif lead != batch:
            raise ValueError(f"observation[{name!r}]: inconsistent batch axis")
        parts.append(value.reshape(*lead, -1))
    return np.concatenate(parts, axis=-1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainSpec:
    """One domain (one TFDS builder `rlu_<name>`, one leaderboard track): its metadata.

    Attributes:
      name: one of `DOMAINS`.
      title: short display name ('bsuite', 'MinAtar', 'classic control').
      summary: what the datasets hold, completing 'RLDS datasets of ...'.
      citation: the environment's reference, one Markdown line.
      bibtex: the same reference as BibTeX (TFDS citations).
      homepage: the environment's home page.
    """

    name: str
    title: str
    summary: str
    citation: str
    bibtex: str
    homepage: str

    def __post_init__(self):
        if self.name not in DOMAINS:
            raise ValueError(f"unknown domain {self.name!r}; valid: {DOMAINS}")
        for field in ("title", "summary", "citation", "bibtex", "homepage"):
            if not getattr(self, field):
                raise ValueError(f"DomainSpec {self.name!r}: {field} is empty")

    @property
    def builder_name(self) -> str:
        return f"rlu_{self.name}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompetenceTarget:
    """The return a task's logged behaviour run must reach by its end (issue 8).

    Measured as the greedy return, on the task's protocol seeds, of the logged run's
    best checkpoint chosen on held-out seeds: the behaviour-run candidate of the expert
    reference (`evaluation.references.measure_expert_reference`). The cards show it
    beside the logged learning curve.

    Attributes:
      value: the target mean episode return.
      source: where the value comes from (a registered threshold, a paper's table).
      shortfall: for a task whose recorded run misses the target, why, and where the
        evidence is (the cards print it under the competence table); empty otherwise.
    """

    value: float
    source: str
    shortfall: str = ""

    def __post_init__(self):
        if not math.isfinite(self.value):
            raise ValueError(f"CompetenceTarget.value must be finite, got {self.value}")
        if not self.source.strip():
            raise ValueError("CompetenceTarget needs its source")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RewardBounds:
    """Bounds of a task's raw per-step rewards, as its environment's source defines them.

    Attributes:
      minimum, maximum: the smallest and largest reward of one step.
      rewarded_steps: how many steps of an episode can carry a nonzero reward; None
        when any step can (bsuite catch rewards only its last step: 1).
      attainable: the upper end of `return_range` is the environment's known maximum
        return (a policy can earn `maximum` on every rewarded step until the time limit:
        CartPole-v1 500, bsuite catch 1); False when it is only a bound (Acrobot's 0).
    """

    minimum: float
    maximum: float
    rewarded_steps: int | None = None
    attainable: bool = False

    def __post_init__(self):
        if not (math.isfinite(self.minimum) and math.isfinite(self.maximum)
                and self.minimum <= self.maximum):
            raise ValueError(f"RewardBounds need finite minimum <= maximum, got "
                             f"[{self.minimum}, {self.maximum}]")
        if self.rewarded_steps is not None and self.rewarded_steps < 1:
            raise ValueError("RewardBounds.rewarded_steps must be >= 1")

    def return_range(self, max_episode_steps: int) -> tuple[float, float]:
        """The feasible undiscounted return of an episode of 1..`max_episode_steps` steps."""
        n = max_episode_steps if self.rewarded_steps is None else min(
            self.rewarded_steps, max_episode_steps)
        return (float(min(self.minimum, n * self.minimum)),
                float(max(self.maximum, n * self.maximum)))

    def max_return(self, max_episode_steps: int) -> float | None:
        """The known maximum return under the cap: `return_range`'s top where attainable."""
        return self.return_range(max_episode_steps)[1] if self.attainable else None


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
      observation: spec of one observation as stored in datasets (for dict
        observations: the flat float32 vector `flatten_observation` makes).
      num_actions: size of the discrete action space (None for continuous tasks).
      action: the action space; derived from `num_actions` when omitted.
      observation_keys: for environments with dict observations, the registered
        flattening order as ((key, shape), ...); () for array observations.
      max_episode_steps: time limit; reaching it truncates (is_terminal=False).
      gamma: discount used by learners and evaluation on this task.
      network: torso for learners, one of `NETWORKS`: 'mlp' (vector observations), 'cnn'
        (MinAtar) or 'nature_cnn' (84x84 Atari frame stacks; Mnih et al. 2015).
      sticky_action_prob: probability that the environment repeats the previous action
        (MinAtar's default 0.1; ALE's 0.25 for Atari, Machado et al. 2018); 0 elsewhere.
      behaviour: the online agent that generates the `replay` level; None for a task
        whose datasets are not built here (Atari: RL Unplugged's files, read through
        `rl_unplugged.data.rlu_originals`), which then lists them in `external_datasets`.
      num_runs: number of logged runs (seeds) per level.
      description: one line for tables and dataset cards.
      rewards: bounds of the environment's per-step rewards (feasible returns of the
        evaluation protocols); None when unknown.
      competence: the return the logged behaviour run must reach, with its source.
      external_datasets: names of the datasets made elsewhere that the task's protocol
        allows (e.g. 'rlu_atari/Pong_run_1'); () for tasks whose datasets are built here.
    """

    domain: str
    name: str
    env_id: str
    observation: ArraySpec
    num_actions: int | None = None
    max_episode_steps: int
    gamma: float
    network: str
    behaviour: BehaviourConfig | None
    sticky_action_prob: float = 0.0
    num_runs: int = 3
    description: str = ""
    action: ActionSpec | None = None
    observation_keys: tuple[tuple[str, tuple[int, ...]], ...] = ()
    rewards: RewardBounds | None = None
    competence: CompetenceTarget | None = None
    external_datasets: tuple[str, ...] = ()

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"unknown domain {self.domain!r}; valid: {DOMAINS}")
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {NETWORKS}, got {self.network!r}")
        object.__setattr__(self, "external_datasets", tuple(self.external_datasets))
        if self.behaviour is None and not self.external_datasets:
            raise ValueError(f"TaskSpec {self.name!r}: without a behaviour (no datasets "
                             "built here) it needs external_datasets")
        if self.action is None:
            if self.num_actions is None:
                raise ValueError(f"TaskSpec {self.name!r} needs num_actions or action")
            object.__setattr__(self, "action", ActionSpec.discrete(self.num_actions))
        elif self.action.is_discrete:
            if self.num_actions not in (None, self.action.num_values):
                raise ValueError(f"TaskSpec {self.name!r}: num_actions disagrees with action")
            object.__setattr__(self, "num_actions", self.action.num_values)
        elif self.num_actions is not None:
            raise ValueError(f"TaskSpec {self.name!r}: a continuous task has no num_actions")
        keys = tuple((str(k), tuple(int(d) for d in shape)) for k, shape in self.observation_keys)
        object.__setattr__(self, "observation_keys", keys)
        if keys and sum(math.prod(s) for _, s in keys) != self.observation.size:
            raise ValueError(f"TaskSpec {self.name!r}: observation_keys cover "
                             f"{sum(math.prod(s) for _, s in keys)} values, observation has "
                             f"{self.observation.size}")
        if self.max_episode_steps < 1 or self.num_runs < 1:
            raise ValueError(f"invalid TaskSpec sizes for {self.name!r}")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma}")

    @property
    def id(self) -> str:
        return f"{self.domain}/{self.name}"

    @property
    def is_discrete(self) -> bool:
        return self.action.is_discrete

    @property
    def builds_datasets(self) -> bool:
        """Whether this suite generates the task's datasets (False: `external_datasets`)."""
        return self.behaviour is not None

    @property
    def return_range(self) -> tuple[float, float]:
        """Feasible undiscounted episode return under the time limit; (-inf, inf) if unknown."""
        if self.rewards is None:
            return (-math.inf, math.inf)
        return self.rewards.return_range(self.max_episode_steps)

    @property
    def max_return(self) -> float | None:
        """The environment's known maximum episode return under the time limit (the top
        of `return_range` where `rewards.attainable`); None where none is known."""
        return None if self.rewards is None else self.rewards.max_return(self.max_episode_steps)


def level_tag(level: str, noise: float) -> str:
    """Config-name fragment: 'noise0', 'noise10', ..., 'random', 'expert'."""
    if level == "replay":
        return f"noise{round(noise * 100)}"
    return level


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """One dataset = (task, level, noise, run): a TFDS config of `rlu_<domain>`.

    Levels:
      replay: every episode an online agent played while learning: a double DQN
        whose executed action is replaced by a uniform one with probability `noise`;
        continuous tasks, a D4PG whose executed action is its mean plus Gaussian
        noise of std sqrt(sigma^2 + noise^2) per half-width, clipped.
      random: a uniformly random policy.
      expert: greedy rollouts of the `noise0` replay run's (same run index) behaviour
        checkpoint with the highest mean greedy return on held-out selection seeds
        (`generation.best_checkpoint_greedy`; never the protocol's seeds). In the
        replay levels an episode's `checkpoint` is the latest one saved before it; the
        agent kept learning while it played, epsilon-greedily. Continuous tasks: the
        same choice by mean-action return, playing its mean action plus Gaussian noise
        of std `FIXED_POLICY_SIGMA` (`generation/d4rl_levels.py`).
      medium, medium_replay, medium_expert (continuous tasks only, D4RL-style): the
        checkpoint closest to half the expert checkpoint's return, playing as the
        expert does; the replay run's episodes up to that checkpoint's save; medium
        then expert episodes (`generation/d4rl_levels.py` defines them exactly).
    `num_steps` is the number of environment steps (transitions) logged; episodes
    are never cut short to meet it (the last episode runs to its end). For
    `medium_replay` it is the cap (the replay run's length): the log holds the run's
    episodes up to the medium checkpoint, however many steps that is.
    """

    task: TaskSpec
    level: str
    noise: float
    run: int
    num_steps: int

    def __post_init__(self):
        if self.level not in LEVELS + CONTINUOUS_LEVELS:
            raise ValueError(f"unknown level {self.level!r}; valid: "
                             f"{LEVELS + CONTINUOUS_LEVELS}")
        if self.level in CONTINUOUS_LEVELS and self.task.action.is_discrete:
            raise ValueError(f"level {self.level!r} is defined for continuous tasks only "
                             f"(D4RL-style); {self.task.id} has discrete actions")
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
    def min_transitions(self) -> int:
        """The fewest transitions a complete log of this dataset holds: `num_steps`, or 1
        for `medium_replay` (a prefix of its replay run; `num_steps` is only its cap)."""
        return 1 if self.level == "medium_replay" else self.num_steps

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

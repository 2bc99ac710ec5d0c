"""The shared TFDS builder of the suite's RLDS datasets (kept out of the registry).

One builder per domain (`rlu_bsuite`, `rlu_minatar`, `rlu_classic`, and the continuous
`rlu_control`, `rlu_mujoco`) subclasses
`RluBuilder`; its `BUILDER_CONFIGS` are derived from `rl_unplugged.registry`, one
per `DatasetSpec` (config name = `DatasetSpec.config_name`). Building a config
first makes sure its raw log exists under the data root tfds was given
(`<root>/rlu_raw/...`, generating or resuming it with `rl_unplugged.generation`;
the builders are the layer that wires generation into `data.prepare`), then streams the verified
episodes, shard by shard, into the RLDS format. Each episode is checked by
`rl_unplugged.data.conformance` on the way: a nonconforming log fails the build.

What users read back (`builder.info`):
  * `info.metadata` (`rlu_metadata`): task id, env id, number of actions (also the
    `num_classes` of the `action` feature, a `ClassLabel` for discrete tasks: stored as
    the same int64), action space, gamma, time limit, observation shape and dtype,
    level/noise/run, the normalisation references (random and expert returns of the
    evaluation protocol, null while pending), and the two notes below;
  * episodes in logged order: `disable_shuffling=True`, so `tfds.load(...,
    shuffle_files=False)` yields episodes by ascending `episode_id` (the order the
    behaviour agent played them);
  * `episode_length` (episode metadata) counts transitions T; an episode has T + 1 RLDS
    steps, which is what `rlds.transformations.episode_length` counts;
  * `is_terminal` on the last step tells a termination from a time-limit truncation
    (is_last without is_terminal): the suite's loaders turn it into `truncated`;
  * the steps' extras follow the action kind: discrete tasks log `action_replaced`,
    `agent_action` and `greedy_action` (the action a `ClassLabel`); continuous tasks
    log `mean_action` (A,) and `action_noise_std` (the action an (A,) float32 tensor).

For tiny builds (tests, notebooks) pass the builder keyword `num_steps`, e.g.
`tfds.builder("rlu_bsuite/catch_random_run0", data_dir=tmp, num_steps=200)` or
`tfds.load(..., builder_kwargs={"num_steps": 200})` (tfds refuses a custom config
named like a registered one); the data are stored under the same config name.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

import rl_unplugged
from rl_unplugged import registry
from rl_unplugged.data import conformance
from rl_unplugged.data import fields as F
from rl_unplugged.data.prepare import ensure_raw_log
from rl_unplugged.data.raw_log import CorruptLogError, RawLog
from rl_unplugged.specs import FIXED_POLICY_SIGMA, DatasetSpec

RLU_CITATION = """\
@inproceedings{gulcehre2020rl,
  title={RL Unplugged: A Suite of Benchmarks for Offline Reinforcement Learning},
  author={Gulcehre, Caglar and Wang, Ziyu and Novikov, Alexander and Paine, Thomas
          and G{\\'o}mez, Sergio and Zolna, Konrad and Agarwal, Rishabh and Merel, Josh S
          and Mankowitz, Daniel J and Paduraru, Cosmin and others},
  booktitle={Advances in Neural Information Processing Systems},
  volume={33},
  pages={7248--7259},
  year={2020}
}"""

_SHARED_STEP_DTYPES = {
    F.REWARD: np.float32, F.DISCOUNT: np.float32, F.IS_FIRST: np.bool_, F.IS_LAST: np.bool_,
    F.IS_TERMINAL: np.bool_,
}
STEP_DTYPES = {
    F.ACTION: np.int64, **_SHARED_STEP_DTYPES, F.ACTION_REPLACED: np.bool_,
    F.AGENT_ACTION: np.int64, F.GREEDY_ACTION: np.int64,
}
# Continuous tasks: the action and `mean_action` are (A,) float32 vectors.
CONTINUOUS_STEP_DTYPES = {
    F.ACTION: np.float32, **_SHARED_STEP_DTYPES, F.MEAN_ACTION: np.float32,
    F.ACTION_NOISE_STD: np.float32,
}
_VECTOR_STEP_FIELDS = (F.ACTION, F.MEAN_ACTION)  # (A,) per step in continuous tasks.
# tf.train.Example stores floats as float32: episode_return is declared float32, not
# pretending to a float64 precision the files do not keep.
METADATA_DTYPES = {
    F.EPISODE_ID: np.int64, F.EPISODE_RETURN: np.float32, F.EPISODE_LENGTH: np.int64,
    F.RUN: np.int64, F.CHECKPOINT: np.int64, F.NOISE: np.float32,
}


def step_dtypes(task) -> dict[str, type]:
    """The stored dtype of each step field but the observation, by the task's action kind."""
    return STEP_DTYPES if task.is_discrete else CONTINUOUS_STEP_DTYPES


EPISODE_ORDER = ("episodes are stored unshuffled, by ascending episode_id: the order the "
                 "behaviour agent played them")
EPISODE_LENGTH = ("episode_length counts transitions T; the episode has T + 1 RLDS steps "
                  "(rlds.transformations.episode_length counts steps)")
# The evaluation protocols' normalisation references, read as data (the builders sit
# below `evaluation` in the layers and do not import it).
_REFERENCES = Path(rl_unplugged.__file__).parent / "evaluation" / "data" / "references.json"


def references(task_id: str) -> dict[str, float | None]:
    """{'random': value, 'expert': value} of a task (None while pending or unknown)."""
    try:
        record = json.loads(_REFERENCES.read_text()).get("tasks", {}).get(task_id) or {}
    except FileNotFoundError:
        record = {}
    return {kind: (record.get(kind) or {}).get("value") for kind in ("random", "expert")}


def rlu_metadata(spec: DatasetSpec) -> dict:
    """The dataset's facts for `builder.info.metadata` (JSON values only)."""
    task = spec.task
    return {
        "task": task.id, "env_id": task.env_id, "num_actions": task.num_actions,
        "action_space": dataclasses.asdict(task.action), "gamma": task.gamma,
        "max_episode_steps": task.max_episode_steps,
        "observation_shape": list(task.observation.shape),
        "observation_dtype": task.observation.dtype, "level": spec.level,
        "noise": spec.noise, "run": spec.run, "num_transitions": spec.num_steps,
        "num_transitions_is_cap": spec.level == "medium_replay",
        "normalisation_references": references(task.id),
        "episode_order": EPISODE_ORDER, "episode_length": EPISODE_LENGTH,
    }


def _generate(spec: DatasetSpec, data_dir, *, progress=None):
    """The generator `ensure_raw_log` calls (imported here: the data layer never does)."""
    from rl_unplugged import generation  # Lazy: generation imports JAX.

    return generation.generate(spec, data_dir, progress=progress)


# Continuous tasks' D4RL-style levels (`generation/d4rl_levels.py` defines them).
_D4RL_LEVELS = {
    "expert": "the noise0 run's best checkpoint (mean-action return on held-out seeds) "
              f"playing with Gaussian action noise of std {FIXED_POLICY_SIGMA:g}",
    "medium": "the noise0 run's checkpoint closest to half the expert's return, playing with "
              f"Gaussian action noise of std {FIXED_POLICY_SIGMA:g}",
    "medium_replay": "the noise0 run's episodes until the medium checkpoint was saved",
    "medium_expert": "the medium level's episodes, then the expert level's",
}


@dataclasses.dataclass(eq=False)
class RluConfig(tfds.core.BuilderConfig):
    """A builder config carrying its `DatasetSpec`."""

    spec: DatasetSpec | None = None

    @classmethod
    def from_spec(cls, spec: DatasetSpec) -> RluConfig:
        if spec.level == "random":
            level = ("uniformly random policy" if spec.task.is_discrete
                     else "uniformly random actions in the bounds")
        elif spec.level == "expert" and spec.task.is_discrete:
            level = ("greedy rollouts of the noise0 run's best checkpoint (greedy return on "
                     "held-out seeds)")
        elif spec.level in _D4RL_LEVELS:
            level = _D4RL_LEVELS[spec.level]
        elif spec.task.is_discrete:
            level = f"online double DQN while learning, actions replaced with p={spec.noise}"
        else:
            level = ("online D4PG (mixture-of-Gaussians critic) while learning, Gaussian "
                     f"action noise {spec.noise} beyond its own exploration")
        size = (f"up to {spec.num_steps:,} transitions" if spec.level == "medium_replay"
                else f"{spec.num_steps:,} transitions")
        return cls(name=spec.config_name, spec=spec,
                   description=f"{spec.task.description}; {level}; run {spec.run}; {size}")


def configs(builder_name: str) -> list[RluConfig]:
    """The registry's datasets of one builder, as configs."""
    return [RluConfig.from_spec(s) for s in registry.datasets(builder_name)]


class RluBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """RLDS episodes logged locally from the suite's behaviour agents."""

    VERSION = tfds.core.Version("2.0.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {
        "1.0.0": "Initial release: replay (noise 0..0.5), random and expert levels, "
                 "3 runs per task, built locally from raw logs.",
        "2.0.0": "Behaviour runs tuned to reach registered competence targets (MinAtar "
                 "1M steps); steps add `agent_action` (the epsilon-greedy pick) and "
                 "`greedy_action` becomes the argmax (-1 in the random level); the expert "
                 "checkpoint is chosen by greedy return on held-out seeds; MinAtar resets "
                 "no longer carry the previous episode's sticky action.",
    }

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls) -> epath.Path:
        # tfds's own lookup needs `importlib_resources` (an etils[epath] extra missing
        # from this machine's install); the builders download nothing, so the plain
        # source file is all tfds needs (to look for an absent checksums.tsv).
        return epath.Path(inspect.getfile(cls))

    def __init__(self, *, num_steps: int | None = None, beam: bool = False, **kwargs):
        """Args:
          num_steps: override the config's number of transitions (tiny builds).
          beam: prepare through TFDS's Beam support, one element per raw-log shard (run
            with `download_and_prepare(download_config=DownloadConfig(beam_runner=...,
            beam_options=...))`); the examples are the in-process build's.
        """
        self._num_steps = num_steps
        self._beam = beam
        super().__init__(**kwargs)

    @property
    def spec(self) -> DatasetSpec:
        spec = self.builder_config.spec
        return spec if self._num_steps is None else spec.replace(num_steps=self._num_steps)

    def _info(self) -> tfds.core.DatasetInfo:
        task = self.spec.task
        obs = task.observation
        steps = {F.OBSERVATION: tfds.features.Tensor(shape=obs.shape, dtype=np.dtype(obs.dtype))}
        steps.update({k: tfds.features.Scalar(dtype=d) for k, d in step_dtypes(task).items()})
        if task.is_discrete:  # Stored as the same int64; declares the count.
            steps[F.ACTION] = tfds.features.ClassLabel(num_classes=task.num_actions)
        else:
            steps.update({k: tfds.features.Tensor(shape=task.action.shape, dtype=np.float32)
                          for k in _VECTOR_STEP_FIELDS})
        features = {F.STEPS: tfds.features.Dataset(steps)}
        features.update({k: tfds.features.Scalar(dtype=d) for k, d in METADATA_DTYPES.items()})
        domain = registry.get_domain(self.spec.task.domain)  # Homepage and citation.
        return self.dataset_info_from_configs(
            description=(f"{self.spec.task.description}. Every episode in RLDS layout: an "
                         "episode of T transitions has T+1 steps; the last step holds the "
                         "final observation and zero action/reward/discount (padding)."),
            features=tfds.features.FeaturesDict(features),
            supervised_keys=None,
            metadata=tfds.core.MetadataDict(rlu_metadata(self.spec)),
            disable_shuffling=True,
            homepage=domain.homepage,
            citation=RLU_CITATION + "\n" + domain.bibtex,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        del dl_manager  # Nothing is downloaded: the data are generated locally.
        log = ensure_raw_log(self.spec, Path(str(self.data_dir_root)), generate=_generate,
                             verify=not self._beam)  # Beam: each element checks its shard.
        if self._beam:
            import apache_beam as beam

            shards = range(len(log.manifest["shards"]))
            return {"train": beam.Create(list(shards)) | beam.FlatMap(
                shard_examples, str(log.directory), self.spec.task)}
        return {"train": self._generate_examples(log)}

    def _generate_examples(self, log):
        for episode in log.iter_episodes():
            yield episode_example(self.spec.task, log.directory, episode)


def shard_examples(index: int, directory: str, task) -> Iterator[tuple[int, dict]]:
    """One raw-log shard's (key, example) pairs, its files verified first (a Beam
    element of the prepare step)."""
    log = RawLog(Path(directory), verify=False)
    log.verify_shard(index)
    for episode in log.iter_shard_episodes(index):
        yield episode_example(task, log.directory, episode)


def episode_example(task, where: Path, episode) -> tuple[int, dict]:
    """(episode_id, the TFDS example) of one logged episode, checked.

    Raises:
      CorruptLogError: a field is missing, or the episode does not conform
        (`data.conformance`).
    """
    dtypes = step_dtypes(task)
    meta = episode.metadata
    missing = [k for k in (*dtypes, F.OBSERVATION) if k not in episode.steps]
    missing += [k for k in METADATA_DTYPES if k not in meta]
    if missing:
        raise CorruptLogError(f"{where}: episode {meta.get(F.EPISODE_ID)} lacks "
                              f"fields {missing}")
    problems = conformance.check_episode(episode.steps, meta, action=task.action)
    if problems:
        raise CorruptLogError(f"{where}: episode {meta[F.EPISODE_ID]} does not conform: "
                              + "; ".join(problems))
    example = {F.STEPS: {k: np.asarray(episode.steps[k], d) for k, d in dtypes.items()}}
    example[F.STEPS][F.OBSERVATION] = episode.steps[F.OBSERVATION]
    example.update({k: d(meta[k]) for k, d in METADATA_DTYPES.items()})
    return int(meta[F.EPISODE_ID]), example


class ContinuousRluBuilder(RluBuilder, skip_registration=True):
    """The continuous domains' builders (`rlu_control`, `rlu_mujoco`): their own versions."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {
        "1.0.0": "Initial release: replay (Gaussian action noise 0..0.5 beyond the D4PG "
                 "agent's own), random, and the D4RL-style expert, medium, medium_replay "
                 "and medium_expert levels, 3 runs per task, built locally from raw logs; "
                 "steps add `mean_action` and `action_noise_std`.",
    }

"""D4RL-style fixed-policy levels of continuous tasks: expert, medium, medium_replay,
medium_expert.

D4RL (Fu et al. 2020, "D4RL: Datasets for Deep Data-Driven Reinforcement Learning",
section 5 and its appendix) derives its MuJoCo levels from one online run: `expert`
from the converged policy, `medium` from an early-stopped one, `medium-replay` from
the replay buffer the run filled until it reached the medium level, `medium-expert`
from medium and expert data together. Here the run is the task's logged `noise0`
replay run of the same run index (the D4PG of `continuous.py`;
`registry.expert_source`), generated first if missing:

- Checkpoint returns: every behaviour checkpoint of the run plays its mean action on
  the held-out selection seeds (`continuous.best_checkpoint`, 20 episodes; disjoint
  from every protocol's evaluation seeds).
- expert: the checkpoint with the highest mean (ties: the later).
- medium: among the checkpoints up to the expert one, the one whose mean is closest
  to half the expert's (ties: the earlier). An expert mean <= 0 defines no medium
  (ConfigError).
- Both play `spec.num_steps` steps (the last episode runs to its end): episode k resets
  with `episode_seed(spec.seed, k)` and executes a_t = clip(pi(o_t) + sigma * h * eps_t,
  minimum, maximum), eps_t ~ N(0, I) from `episode_rng(spec.seed, k)`, h the half width
  of each action dimension, sigma = `specs.FIXED_POLICY_SIGMA` (0.1, TD3's exploration noise,
  Fujimoto et al. 2018): some action noise for coverage, as D4RL's stochastic SAC
  policies had. Not the D4PG's own 0.3: on Hopper that halves the expert checkpoint's
  return (3,076 deterministic, 2,568 at 0.1, 1,543 at 0.3; 10 episodes each,
  `datasets/behaviour_competence.md`), so its "expert" data scored like its medium.
  Logged per step as in the replay level: `mean_action` = pi(o_t), `action_noise_std`
  = sigma; the episode's `checkpoint` is the playing checkpoint's index.
- medium_replay: the run's episodes 0..`last_episode` of the medium checkpoint (the
  episodes played until the medium params were saved), copied unchanged. Its size is
  whatever the run took to get there (`spec.num_steps` is only the cap).
- medium_expert: the medium level's episodes, then the expert level's, renumbered
  0, 1, ...; `checkpoint` says which policy played each.

Each log's generation config records its source manifest's digest (medium_expert: both
sources'), the rule, the chosen indices and every checkpoint's mean, so a rebuild
either matches or refuses. Resuming follows the random level: a shard commits at an
episode end; episodes are pure functions of their ids (copies: of the source).
"""

from __future__ import annotations

import functools
import itertools
import os
from pathlib import Path

import numpy as np

from rl_unplugged import envs, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import RawLog, manifest_digest
from rl_unplugged.errors import ConfigError
from rl_unplugged.generation import behaviour_checkpoints, continuous, d4pg
from rl_unplugged.generation.generate import (
    DEFAULT_SHARD_TRANSITIONS,
    Progress,
    _check_counter,
    _Log,
    episode_rng,
    episode_seed,
    write_raw_log,
)
from rl_unplugged.generation.generate import generate as generate_log
from rl_unplugged.specs import D4RL_LEVELS, FIXED_POLICY_SIGMA, DatasetSpec, TaskSpec

RULES = {
    "expert": "highest mean-action return on held-out selection seeds (ties: later)",
    "medium": "among checkpoints up to the expert one, mean-action return closest to half "
              "the expert's (ties: earlier)",
}


@functools.lru_cache(maxsize=16)
def _means(log_dir: str, digest: str, task: TaskSpec) -> tuple[tuple[int, float], ...]:
    # Keyed by the source manifest's digest: a rebuilt source is measured again. One
    # measurement serves the four levels of a run built in one process.
    del digest
    return tuple(sorted(continuous.best_checkpoint(log_dir, task)[1].items()))


def choose_checkpoints(raw_log_dir: str | os.PathLike, task: TaskSpec) -> dict:
    """The expert and medium checkpoints of a continuous replay log (rules: `RULES`).

    Returns {'expert': index, 'medium': index, 'means': {index: mean-action return}}.

    Raises:
      ConfigError: the expert's mean return is <= 0 (no medium is defined).
    """
    raw_log_dir = Path(raw_log_dir)
    means = dict(_means(str(raw_log_dir), manifest_digest(raw_log_dir), task))
    expert = max(means, key=lambda k: (means[k], k))
    if not means[expert] > 0:
        raise ConfigError(f"{raw_log_dir}: the expert checkpoint's mean return is "
                          f"{means[expert]:.4g} <= 0; half of it defines no medium policy")
    target = means[expert] / 2
    medium = min((k for k in means if k <= expert), key=lambda k: (abs(means[k] - target), k))
    return {"expert": expert, "medium": medium, "means": means}


def source_specs(spec: DatasetSpec) -> dict[str, DatasetSpec]:
    """The logs a D4RL-style dataset is made from: {'replay': the noise0 run}, or for
    medium_expert {'medium': ..., 'expert': ...}; all of the same task and run."""
    if spec.level == "medium_expert":
        return {level: DatasetSpec(task=spec.task, level=level, noise=0.0, run=spec.run,
                                   num_steps=spec.task.behaviour.num_steps)
                for level in ("medium", "expert")}
    return {"replay": registry.expert_source(spec)}


def _play(spec: DatasetSpec, env, log: _Log, agent: d4pg.Agent, params: dict,
          checkpoint: int, sigma: float) -> None:
    """`spec.num_steps` steps of one checkpoint's mean action plus N(0, sigma h) noise."""
    writer = log.writer
    _check_counter(writer, writer.resume_state())
    low, high = envs.action_bounds(spec.task.action)
    scale = (sigma * (high - low) / 2).astype(np.float32)
    act = agent.act
    while log.num_transitions < spec.num_steps:
        eid = writer.num_episodes
        obs = env.reset(episode_seed(spec.seed, eid))
        rng = episode_rng(spec.seed, eid)
        rollout = continuous._Rollout(obs)
        while True:
            mean = np.asarray(act(params, obs))
            executed = np.clip(mean + scale * rng.standard_normal(mean.shape),
                               low, high).astype(np.float32)
            ts = env.step(executed)
            obs = ts.observation
            if rollout.add(executed, mean, sigma, ts):
                break
        log.add(rollout.episode({F.EPISODE_ID: eid, F.RUN: spec.run, F.CHECKPOINT: checkpoint,
                                 F.NOISE: spec.noise}))
        log.maybe_commit(lambda: {"env_steps": np.int64(log.num_transitions)})
    writer.commit(resume_state={"env_steps": np.int64(log.num_transitions)})


def _copy(log: _Log, episodes) -> None:
    """Appends `episodes` (an iterable in order) renumbered from 0; a resumed copy skips
    those already committed."""
    writer = log.writer
    _check_counter(writer, writer.resume_state())
    done = writer.num_episodes
    for eid, episode in enumerate(episodes):
        if eid < done:
            continue
        log.add(Episode(steps=episode.steps, metadata={**episode.metadata, F.EPISODE_ID: eid}))
        log.maybe_commit(lambda: {"env_steps": np.int64(log.num_transitions)})
    writer.commit(resume_state={"env_steps": np.int64(log.num_transitions)})


def generate(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
             progress: Progress | None = None,
             shard_transitions: int = DEFAULT_SHARD_TRANSITIONS) -> RawLog:
    """Builds (or resumes) a D4RL-style level's raw log (see the module doc); its sources
    are generated first if missing. Same contract as `generation.generate`.

    Raises:
      ConfigError: not a D4RL-style level of a continuous task, or no medium defined.
    """
    if spec.task.action.is_discrete or spec.level not in D4RL_LEVELS:
        raise ConfigError(f"{spec.name}: D4RL-style levels are those of continuous tasks "
                          f"({D4RL_LEVELS})")
    sources = {k: generate_log(s, data_dir) for k, s in source_specs(spec).items()}
    fixed: dict = {"sources": {k: {"dataset": log.manifest["dataset"],
                                   "manifest_sha256": manifest_digest(log.directory)}
                               for k, log in sources.items()}}
    if spec.level != "medium_expert":
        replay = sources["replay"]
        chosen = choose_checkpoints(replay.directory, spec.task)
        fixed.update(rules=dict(RULES), expert=chosen["expert"], medium=chosen["medium"],
                     means={str(k): v for k, v in chosen["means"].items()})
        if spec.level != "medium_replay":
            fixed["sigma"] = FIXED_POLICY_SIGMA
    config = continuous.generation_config(spec, d4pg.D4PGConfig())
    config["d4rl_level"] = fixed

    def play(env, log: _Log) -> dict:
        if spec.level == "medium_expert":
            medium, expert = sources["medium"], sources["expert"]
            _copy(log, itertools.chain(medium.iter_episodes(), expert.iter_episodes()))
            return {"medium_episodes": medium.num_episodes,
                    "expert_episodes": expert.num_episodes}
        index = fixed[spec.level if spec.level != "medium_replay" else "medium"]
        position = sorted(chosen["means"]).index(index)
        if spec.level == "medium_replay":
            _, info = behaviour_checkpoints.checkpoint_entry(replay.directory, position)
            last = info["last_episode"]
            _copy(log, itertools.takewhile(lambda e: e.metadata[F.EPISODE_ID] <= last,
                                           replay.iter_episodes()))
            return {"checkpoint": index, "last_episode": last}
        agent, params, _ = continuous.load_checkpoint(replay.directory, position)
        _play(spec, env, log, agent, params, index, FIXED_POLICY_SIGMA)
        return {"checkpoint": index, "checkpoint_mean_return": chosen["means"][index]}

    return write_raw_log(spec, data_dir, config, play, progress=progress,
                         shard_transitions=shard_transitions)


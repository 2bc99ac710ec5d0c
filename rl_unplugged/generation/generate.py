"""Generation of one dataset's raw log: every episode a behaviour policy plays.

Levels (see `rl_unplugged.specs.DatasetSpec`):
  replay: an online double DQN (`dqn.py`) learns on the environment; every episode it
    plays is logged in full. Action noise as in RL Unplugged's bsuite data: at every
    step, independently of the agent's epsilon-greedy exploration, the executed
    action is replaced with probability `spec.noise` by a uniform draw over all
    actions (which may equal the agent's pick). Logged per step: `action` (executed),
    `action_replaced` (the replacement happened), `agent_action` (the agent's own,
    epsilon-greedy, pick before noise) and `greedy_action` (argmax of its Q-values at
    that step). The DQN learns from the executed actions.
  random: a uniform random policy (action_replaced False, agent_action = action,
    greedy_action -1: no Q-function).
  expert: greedy rollouts of the best checkpoint of `registry.expert_source(spec)` by
    greedy return on held-out seeds (`behaviour_checkpoints.best_checkpoint_greedy`),
    generated first if missing (action_replaced False, agent_action = greedy_action =
    action).

Seeds. Generation is a pure function of the spec and `spec.seed`: episode k resets
the environment with `episode_seed(seed, k)` and draws its noise (replay) or
actions (random) from `episode_rng(seed, k)`; the agent's randomness (init,
exploration) comes from `jax.random.PRNGKey(seed)` carried in its state (exploration
uniforms by blocks of environment steps, `dqn.Agent.exploration`); replay
batches are drawn from generators seeded by (seed, SGD-step block). No global RNG.

Checkpoints (replay level). After every `checkpoint_every_episodes` episodes, and
after the last episode, the online params are saved as checkpoint k = 0, 1, ...
with info {index: k, first_episode, last_episode, env_steps, sgd_steps, sha256}:
the params are those after training through episode `last_episode`; the episodes
[first_episode, last_episode] are those played since checkpoint k-1 was saved,
i.e. exactly the episodes whose metadata `checkpoint` equals k-1 (-1 before the
first checkpoint); env_steps and sgd_steps are the totals at the save.

Resuming. A shard is committed every `shard_transitions` transitions (at an episode
end) with a resume state: agent params, target params, optimizer state, key,
replay contents and position, and counters. Re-running after a crash reopens the
log, drops uncommitted work and continues from the last commit; the result equals
an uninterrupted run's, bit for bit (the tests check it, also after SIGKILL).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from rl_unplugged import checkpointing, envs, paths, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import (
    NUMERICS,
    CorruptLogError,
    RawLog,
    RawLogWriter,
    numerics_mark,
    read_manifest,
    unmarked,
)
from rl_unplugged.errors import ConfigError, IncompatibleError
from rl_unplugged.generation import behaviour_checkpoints, dqn, numerics
from rl_unplugged.generation.replay_buffer import ReplayBuffer
from rl_unplugged.specs import DatasetSpec

# 2: MinAtar resets clear last_action, steps log agent_action and the argmax
# greedy_action, the expert checkpoint is chosen by greedy return (issue 8).
GENERATOR_VERSION = 2
# Transitions per committed shard (also the most work a crash can lose).
DEFAULT_SHARD_TRANSITIONS = 25_000
_ENV_STREAM = 0
_EPISODE_RNG_STREAM = 1

Progress = Callable[[int], None]


def episode_seed(seed: int, episode_id: int) -> int:
    """Environment seed of episode `episode_id` (a uint32)."""
    return int(np.random.SeedSequence([seed, _ENV_STREAM, episode_id]).generate_state(1)[0])


def episode_rng(seed: int, episode_id: int) -> np.random.Generator:
    """Noise (replay) or action (random) generator of episode `episode_id`."""
    return np.random.default_rng(np.random.SeedSequence([seed, _EPISODE_RNG_STREAM, episode_id]))


def validate(spec: DatasetSpec) -> None:
    """Checks that `spec` can be generated, before any work is done.

    Raises:
      TypeError: `spec` is not a DatasetSpec.
      ValueError: naming every problem found (behaviour config, environment,
        observation spec, missing expert source).
    """
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"generate() needs a DatasetSpec, got {type(spec).__name__}")
    cfg = spec.task.behaviour
    problems = []
    if spec.level == "replay" or spec.level == "expert":
        if not cfg.learning_rate > 0:
            problems.append(f"learning_rate must be > 0, got {cfg.learning_rate}")
        if not 1 <= cfg.min_replay_size <= cfg.replay_capacity:
            problems.append(f"min_replay_size must be in [1, replay_capacity="
                            f"{cfg.replay_capacity}], got {cfg.min_replay_size}")
        if cfg.epsilon_decay_steps < 0:
            problems.append(f"epsilon_decay_steps must be >= 0, got {cfg.epsilon_decay_steps}")
        if not cfg.hidden or any(h <= 0 for h in cfg.hidden):
            problems.append(f"hidden must be non-empty positive widths, got {cfg.hidden}")
    if spec.level == "expert":
        try:
            registry.expert_source(spec)
        except (KeyError, ValueError) as e:
            problems.append(f"no expert source: {e}")
    try:
        env = envs.make(spec.task)
        obs = env.reset(0)
        env.close()
    except Exception as e:  # noqa: BLE001 - any backend failure is reported by name.
        problems.append(f"cannot create environment {spec.task.env_id!r}: {e!r}")
    else:
        want = (tuple(spec.task.observation.shape), np.dtype(spec.task.observation.dtype))
        if (obs.shape, obs.dtype) != want:
            problems.append(f"environment observations are {obs.shape} {obs.dtype}, "
                            f"spec says {want[0]} {want[1]}")
    if problems:
        raise ConfigError(f"cannot generate {spec.name}: " + "; ".join(problems))


def _json(obj) -> dict:
    return json.loads(json.dumps(obj))


def generation_config(spec: DatasetSpec, expert: dict | None = None) -> dict:
    """What the log is a pure function of (stored in, and checked against, the manifest)."""
    task = spec.task
    config = {
        "generator": "rl_unplugged.generation", "generator_version": GENERATOR_VERSION,
        "dataset": spec.name, "level": spec.level, "noise": spec.noise, "run": spec.run,
        "num_steps": spec.num_steps, "seed": spec.seed,
        "task": {"id": task.id, "env_id": task.env_id, "num_actions": task.num_actions,
                 "max_episode_steps": task.max_episode_steps, "gamma": task.gamma,
                 "sticky_action_prob": task.sticky_action_prob, "network": task.network,
                 "observation": {"shape": list(task.observation.shape),
                                 "dtype": task.observation.dtype}},
        "behaviour": dataclasses.asdict(task.behaviour),
    }
    if expert is not None:
        config["expert"] = expert
    return _json(config)


class _Log:
    """Adds episodes, reports progress and commits shards with resume states."""

    def __init__(self, writer: RawLogWriter, progress: Progress | None, shard_transitions: int):
        self.writer = writer
        self.progress = progress
        self.shard_transitions = shard_transitions
        self._pending_returns: list[float] = []

    @property
    def num_transitions(self) -> int:
        """Transitions committed plus pending (the writer keeps the count)."""
        return self.writer.num_transitions

    def add(self, episode: Episode) -> None:
        self.writer.add(episode)
        self._pending_returns.append(episode.metadata[F.EPISODE_RETURN])
        if self.progress is not None:
            self.progress(episode.num_transitions)

    def maybe_commit(self, resume_state: Callable[[], dict[str, np.ndarray]]) -> None:
        uncommitted = self.writer.num_transitions - self.writer.manifest["num_transitions"]
        if uncommitted >= self.shard_transitions:
            self.writer.commit(resume_state=resume_state())
            self._pending_returns = []

    def episode_returns(self) -> np.ndarray:
        """Returns of every episode of the log, committed or pending."""
        done = np.zeros(0)
        if self.writer.manifest["shards"]:
            committed = RawLog(self.writer.directory, require_complete=False, verify=False)
            done = committed.episodes_table()[F.EPISODE_RETURN]
        pending = self._pending_returns[len(self._pending_returns) - self.writer.num_pending:]
        return np.concatenate([np.asarray(done, np.float64), np.asarray(pending, np.float64)])


class _Rollout:
    """One episode's columns as it is played: the per-step bookkeeping of every level.

    `add` records one environment step (executed action, the agent's own pick before
    noise, its greedy action, whether noise replaced it, and the step's reward and next
    observation) and
    says whether the episode ended; `episode` aligns the columns into RLDS steps.
    """

    __slots__ = ("observations", "actions", "rewards", "agent", "greedy", "replaced",
                 "terminated")

    def __init__(self, observation: np.ndarray):
        self.observations = [observation]
        self.actions: list[int] = []
        self.rewards: list[float] = []
        self.agent: list[int] = []
        self.greedy: list[int] = []
        self.replaced: list[bool] = []
        self.terminated = False

    def add(self, executed: int, agent: int, greedy: int, replaced: bool, ts) -> bool:
        self.actions.append(executed)
        self.agent.append(agent)
        self.greedy.append(greedy)
        self.replaced.append(replaced)
        self.rewards.append(ts.reward)
        self.observations.append(ts.observation)
        self.terminated = ts.terminated
        return ts.terminated or ts.truncated

    def episode(self, metadata: dict) -> Episode:
        return Episode.from_rollout(
            observations=np.stack(self.observations), actions=np.asarray(self.actions, np.int64),
            rewards=np.asarray(self.rewards, np.float32), terminated=self.terminated,
            extras={F.ACTION_REPLACED: np.asarray(self.replaced, bool),
                    F.AGENT_ACTION: np.asarray(self.agent, np.int64),
                    F.GREEDY_ACTION: np.asarray(self.greedy, np.int64)},
            metadata=metadata)


def _check_counter(writer: RawLogWriter, resume: dict | None) -> None:
    if resume is None:
        if writer.num_episodes:
            raise CorruptLogError(f"{writer.directory}: episodes committed without a resume "
                                  f"state; delete the directory to rebuild")
        return
    if int(resume["env_steps"]) != writer.num_transitions:
        raise CorruptLogError(f"{writer.directory}: resume state is at {int(resume['env_steps'])} "
                              f"steps, shards hold {writer.num_transitions}")


class LearningRun:
    """The bookkeeping of a logged learning run (the replay level): counters, resume
    state and behaviour checkpoints. One home for the DQN loop here and the D4PG loop
    (`continuous.py`); the loops count `env_steps` and `sgd_steps` on it.

    Checkpoint k holds the params after training through episode `last_episode`, with
    the episode range played since checkpoint k-1 (see the module docstring).
    """

    def __init__(self, writer: RawLogWriter, buffer: ReplayBuffer):
        self.writer, self.buffer = writer, buffer
        self.env_steps = self.sgd_steps = self.num_ckpts = 0
        self.last_ckpt_episode = -1
        self._resume = writer.resume_state()
        _check_counter(writer, self._resume)

    def finished_summary(self) -> dict | None:
        """The run's summary if it crashed while finalizing (its last shard is in)."""
        r = self._resume
        if r is None or "finished" not in r:
            return None
        return {"num_checkpoints": int(r["num_checkpoints"]), "sgd_steps": int(r["sgd_steps"])}

    def restore(self, state):
        """`state` as committed with the last shard (and the buffer and counters), or
        `state` itself for a fresh run."""
        r = self._resume
        if r is None:
            return state
        state = checkpointing.from_flat_dict(
            state, r, "agent/", self.writer.directory / self.writer.manifest["resume_state"])
        self.buffer.restore(r)
        self.env_steps, self.sgd_steps = int(r["env_steps"]), int(r["sgd_steps"])
        self.num_ckpts, self.last_ckpt_episode = int(r["num_checkpoints"]), int(r["last_ckpt"])
        return state

    def resume_state(self, state) -> dict[str, np.ndarray]:
        out = checkpointing.to_flat_dict(state, "agent/")
        out.update(self.buffer.state())
        out.update(env_steps=np.int64(self.env_steps), sgd_steps=np.int64(self.sgd_steps),
                   num_checkpoints=np.int64(self.num_ckpts),
                   last_ckpt=np.int64(self.last_ckpt_episode))
        return out

    def save_checkpoint(self, params, last_episode: int) -> None:
        """Saves `params` (a pytree on the host) as the next checkpoint."""
        data = checkpointing.to_bytes(params)
        info = {"index": self.num_ckpts, "first_episode": self.last_ckpt_episode + 1,
                "last_episode": last_episode, "env_steps": self.env_steps,
                "sgd_steps": self.sgd_steps, "sha256": checkpointing.sha256(data)}
        self.writer.add_checkpoint(f"checkpoints/checkpoint-{self.num_ckpts:05d}.msgpack",
                                   lambda tmp: tmp.write_bytes(data), info)
        self.num_ckpts += 1
        self.last_ckpt_episode = last_episode

    def finish(self, params, last_episode: int) -> dict:
        """Checkpoints the end (unless just saved) and commits the last shard with a
        small resume state saying generation is over, so a crash before `finalize`
        rewrites the manifest resumes straight to finalizing."""
        if self.last_ckpt_episode != last_episode:
            self.save_checkpoint(params, last_episode)
        self.writer.commit(resume_state={
            "finished": np.int64(1), "env_steps": np.int64(self.env_steps),
            "sgd_steps": np.int64(self.sgd_steps),
            "num_checkpoints": np.int64(self.num_ckpts)})
        return {"num_checkpoints": self.num_ckpts, "sgd_steps": self.sgd_steps}


def _run_policy(spec: DatasetSpec, env, log: _Log, act: Callable[[np.ndarray, np.random.Generator],
                                                                 int], checkpoint: int,
                greedy: bool) -> None:
    """Random and expert levels: each episode a pure function of its id.

    `greedy`: the policy is the argmax of a Q-function (expert), so its action is also
    the step's `greedy_action`; otherwise (random) `greedy_action` is -1.
    """
    writer = log.writer
    _check_counter(writer, writer.resume_state())
    seed, noise = spec.seed, spec.noise
    while log.num_transitions < spec.num_steps:
        eid = writer.num_episodes
        obs = env.reset(episode_seed(seed, eid))
        rng = episode_rng(seed, eid)
        rollout = _Rollout(obs)
        while True:
            a = act(obs, rng)
            ts = env.step(a)
            obs = ts.observation
            if rollout.add(a, a, a if greedy else -1, False, ts):
                break
        log.add(rollout.episode(
            {F.EPISODE_ID: eid, F.RUN: spec.run, F.CHECKPOINT: checkpoint, F.NOISE: noise}))
        log.maybe_commit(lambda: {"env_steps": np.int64(log.num_transitions)})
    writer.commit(resume_state={"env_steps": np.int64(log.num_transitions)})


def _run_replay(spec: DatasetSpec, env, log: _Log) -> dict:
    """The replay level: an online double DQN learns; every episode is logged."""
    task, cfg, writer = spec.task, spec.task.behaviour, log.writer
    agent = dqn.agent_for(task, cfg)
    state = agent.init(jax.random.PRNGKey(spec.seed))
    buffer = ReplayBuffer(cfg.replay_capacity, task.observation.shape,
                          np.dtype(task.observation.dtype), spec.seed, cfg.batch_size)
    run = LearningRun(writer, buffer)
    done = run.finished_summary()
    if done is not None:  # Crashed while finalizing.
        return done
    state = run.restore(state)
    host_params = lambda: jax.device_get(agent.unravel(state.params))  # noqa: E731

    seed, noise, num_actions = spec.seed, spec.noise, task.num_actions
    greedy_fn, update_and_greedy, update = agent.greedy, agent.update_and_greedy, agent.update
    block, uniforms = -1, None
    min_replay, update_period = cfg.min_replay_size, cfg.update_period
    eid = writer.num_episodes - 1
    while log.num_transitions < spec.num_steps:
        eid = writer.num_episodes
        checkpoint = run.num_ckpts - 1
        obs = env.reset(episode_seed(seed, eid))
        rng = episode_rng(seed, eid)
        rollout = _Rollout(obs)
        pending = None
        while True:
            if pending is None:
                g = greedy_fn(state.params, obs)
            else:
                state, g = update_and_greedy(state, pending, obs)
                pending = None
            env_steps = run.env_steps
            if env_steps // dqn.EXPLORE_BLOCK != block:
                block = env_steps // dqn.EXPLORE_BLOCK
                uniforms = np.asarray(agent.exploration(state.key, block))
            a = dqn.explore(uniforms[env_steps % dqn.EXPLORE_BLOCK],
                            dqn.epsilon_at(cfg, env_steps), int(g), num_actions)
            # Noise draws happen every step whatever `noise` is, so the stream is fixed.
            swap = bool(rng.random() < noise)
            uniform = int(rng.integers(num_actions))
            executed = uniform if swap else a
            ts = env.step(executed)
            buffer.add(obs, executed, ts.reward, 0.0 if ts.terminated else 1.0, ts.observation)
            env_steps = run.env_steps = env_steps + 1
            if env_steps >= min_replay and env_steps % update_period == 0:
                pending = dqn.Batch(*buffer.sample(run.sgd_steps))
                run.sgd_steps += 1
            obs = ts.observation
            if rollout.add(executed, a, int(g), swap, ts):
                break
        if pending is not None:  # Episodes end with every due SGD step taken.
            state, _ = update(state, pending)
        log.add(rollout.episode(
            {F.EPISODE_ID: eid, F.RUN: spec.run, F.CHECKPOINT: checkpoint, F.NOISE: noise}))
        if (eid + 1) % cfg.checkpoint_every_episodes == 0:
            run.save_checkpoint(host_params(), eid)
        if log.num_transitions < spec.num_steps:
            log.maybe_commit(lambda s=state: run.resume_state(s))
    return run.finish(host_params(), eid)


def generate(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
             progress: Progress | None = None,
             shard_transitions: int = DEFAULT_SHARD_TRANSITIONS) -> RawLog:
    """Builds (or resumes) the raw log of `spec` at `paths.raw_dir(spec, data_dir)`.

    Episodes are never cut short: generation stops after the episode during which
    the transition count reached `spec.num_steps`. A complete log is returned at once.

    Args:
      spec: the dataset to generate.
      data_dir: data root (default: $TFDS_DATA_DIR, else ~/tensorflow_datasets).
      progress: called with the number of transitions added since its last call; its
        calls sum to the log's transition count (a resumed build first reports what
        was already committed). An exception it raises aborts generation, leaving
        the last committed shard to resume from.
      shard_transitions: transitions per committed shard; changes the sharding and
        resume granularity, never the data.

    Returns:
      The complete, verified `RawLog`.

    Raises:
      TypeError, ValueError: invalid spec (see `validate`), or the directory holds a log
        of another generation config.
      CorruptLogError: the existing log is damaged.
    """
    validate(spec)
    numerics.configure()  # Before any JAX computation of this build (checkpoint choice too).
    if shard_transitions < 1:
        raise ValueError(f"shard_transitions must be >= 1, got {shard_transitions}")
    if not spec.task.is_discrete:
        # Continuous tasks: the D4PG loop (imported here: it builds on this module).
        from rl_unplugged.generation import continuous

        return continuous.generate(spec, data_dir, progress=progress,
                                   shard_transitions=shard_transitions)
    expert = None
    if spec.level == "expert":
        source_log = generate(registry.expert_source(spec), data_dir)
        best, means = behaviour_checkpoints.best_checkpoint_greedy(source_log.directory,
                                                                   spec.task)
        position = sorted(means).index(best)
        _, params, info = behaviour_checkpoints.load_checkpoint(source_log.directory, position)
        expert = {"source": source_log.manifest["dataset"], "checkpoint": info["index"],
                  "checkpoint_sha256": info["sha256"],
                  "selection": {"rule": "highest mean greedy return on held-out seeds",
                                "seeds_salt": behaviour_checkpoints.SELECTION_SALT,
                                "episodes": behaviour_checkpoints.SELECTION_EPISODES,
                                "greedy_means": {str(k): v for k, v in means.items()}}}
    def play(env, log: _Log) -> dict:
        if spec.level == "replay":
            return _run_replay(spec, env, log)
        if spec.level == "random":
            num_actions = spec.task.num_actions
            _run_policy(spec, env, log, lambda obs, rng: int(rng.integers(num_actions)),
                        -1, greedy=False)
            return {}
        policy = behaviour_checkpoints.greedy_policy(spec.task, params,
                                                     tuple(spec.task.behaviour.hidden))
        _run_policy(spec, env, log, lambda obs, rng: int(policy(obs[None])[0]),
                    expert["checkpoint"], greedy=True)
        return dict(expert)

    return write_raw_log(spec, data_dir, generation_config(spec, expert), play,
                         progress=progress, shard_transitions=shard_transitions)


def _with_numerics(directory: Path, generation: dict, level: str) -> dict:
    """`generation` as the manifest must hold it: marked when this process does not
    compute under the canonical settings (`numerics`), there is something to play, and
    the level computes with JAX (not `numerics.JAX_FREE_LEVELS`).

    A complete log is read whatever the process's settings (its mark, or none, is part
    of what it is); an incomplete one resumes only under the settings it began with.
    """
    existing = read_manifest(directory)
    if existing is not None and existing.get("complete"):
        recorded = numerics_mark(existing.get("generation", {}))
        return generation if recorded is None else {**generation, NUMERICS: recorded}
    mark = None if level in numerics.JAX_FREE_LEVELS else numerics.marker()
    marked = generation if mark is None else {**generation, NUMERICS: mark}
    began = (existing or {}).get("generation", {})
    if existing is not None and began != marked and unmarked(began) == generation:
        how = ("resume it in a fresh process (`rlu datasets build` starts one)"
               if numerics_mark(began) is None else
               "it can only be resumed under the settings it names; delete it and build it "
               "again in a fresh process (`rlu datasets build`)")
        raise IncompatibleError(
            f"{directory} was begun under other numerics than this process's "
            f"({numerics_mark(began) or 'canonical'} != {mark or 'canonical'}): resuming "
            f"would mix them; {how}")
    return marked


def write_raw_log(spec: DatasetSpec, data_dir: str | os.PathLike | None, generation: dict,
                  play: Callable[[Any, _Log], dict], *, progress: Progress | None,
                  shard_transitions: int) -> RawLog:
    """Opens (or resumes) `spec`'s raw log and, unless it is complete, plays it to the end.

    `play(env, log)` logs the level's episodes into `log` and returns the summary; the
    episodes' mean return is added to it (under `expert_mean_return` too for the expert
    level) before the log is finalised. The one writer loop of the discrete and the
    continuous generators.
    """
    directory = paths.raw_dir(spec, data_dir)
    generation = _with_numerics(directory, generation, spec.level)
    with RawLogWriter.open(directory, dataset=spec.name,
                           observation_shape=spec.task.observation.shape,
                           observation_dtype=spec.task.observation.dtype,
                           generation=generation) as writer:
        if not writer.complete:
            if progress is not None and writer.num_transitions:
                progress(writer.num_transitions)
            log = _Log(writer, progress, shard_transitions)
            env = envs.make(spec.task)
            try:
                summary = play(env, log)
            finally:
                env.close()
            summary["episode_return_mean"] = float(log.episode_returns().mean())
            if spec.level == "expert":
                summary["expert_mean_return"] = summary["episode_return_mean"]
            writer.finalize(summary)
        elif progress is not None:
            progress(writer.num_transitions)
    return RawLog(Path(directory))


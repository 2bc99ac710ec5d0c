"""Generation of continuous tasks' raw logs: the D4PG learning run, or a random policy.

`generation.generate` hands continuous tasks (DM Control Suite, gymnasium MuJoCo) to
`generate` here; the raw log, shards, resume states and checkpoints are those of the
discrete path (`generate.py`), the agent is `d4pg.py`'s, or the fallback SAC of
`sac.py` when `generate` is given a `sac.SACConfig`.

Levels:
  replay: the D4PG learns online from its first step; every episode it plays is logged.
    The executed action is a_k = clip(pi(o_k) + std * h * eps_k, minimum, maximum), with
    eps_k ~ N(0, I) from the episode's generator (`generate.episode_rng`), h the half
    width of each action dimension, and std = sqrt(sigma^2 + noise^2): the agent's own
    exploration noise (`D4PGConfig.sigma`, Acme's 0.3) and the dataset's action-noise
    level (`spec.noise`), independent Gaussians, so one Gaussian of that std. Logged per
    step beside the executed `action`: `mean_action` = pi(o_k) and `action_noise_std` =
    std. The D4PG learns from the executed actions (n-step transitions).
  replay with SAC (`config=sac.SACConfig()`): the executed action is the policy's own
    sample tanh(mu(o_k) + sigma(o_k) * eps_k) mapped into the bounds, plus the level's
    noise: clip(that + noise * h * eps'_k, minimum, maximum), eps_k, eps'_k ~ N(0, I)
    from the episode's generator. Logged: `mean_action` = the deterministic action
    tanh(mu(o_k)) in the bounds, `action_noise_std` = the level's noise only (the
    policy's own std is state-dependent; it is not a per-step scalar). With
    `SACConfig.random_steps` > 0 the run's first steps execute uniform actions in the
    bounds instead (from the same generator; `mean_action` still the policy's) and the
    updates wait for them.
  random: uniform actions in the bounds from the episode's generator (`mean_action` =
    the action, `action_noise_std` 0).
  expert, medium, medium_replay, medium_expert: the D4RL-style fixed-policy levels,
    made from the replay run's checkpoints and episodes (`d4rl_levels.py`).

Seeds, checkpoints and resuming follow `generate.py`: episode k resets with
`episode_seed(seed, k)` and draws its noise from `episode_rng(seed, k)`; the agent's
randomness (init, target samples) from `jax.random.PRNGKey(seed)` in its state; replay
batches from (seed, SGD-step block) generators. A checkpoint (policy and critic params)
every `checkpoint_every_episodes` episodes and after the last. Shards commit at episode
ends with a resume state (agent state, replay, counters; the n-step accumulator is empty
there), so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from rl_unplugged import checkpointing, envs, registry
from rl_unplugged.agents.common import Batch
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import RawLog
from rl_unplugged.errors import ConfigError
from rl_unplugged.generation import behaviour_checkpoints, d4pg, numerics, sac
from rl_unplugged.generation.generate import (
    DEFAULT_SHARD_TRANSITIONS,
    LearningRun,
    Progress,
    _check_counter,
    _Log,
    episode_rng,
    episode_seed,
    write_raw_log,
)
from rl_unplugged.generation.generate import generation_config as discrete_generation_config
from rl_unplugged.generation.replay_buffer import ReplayBuffer
from rl_unplugged.specs import D4RL_LEVELS, BehaviourConfig, DatasetSpec, TaskSpec

CONTINUOUS_GENERATOR_VERSION = 1

BehaviourAgent = d4pg.Agent | sac.Agent
AgentConfig = d4pg.D4PGConfig | sac.SACConfig
# The manifest's key of each behaviour agent's settings.
AGENT_KEYS = {d4pg.D4PGConfig: "d4pg", sac.SACConfig: "sac"}


def generation_config(spec: DatasetSpec, config: AgentConfig) -> dict:
    """The discrete path's generation config plus the action space and the behaviour
    agent's settings (under 'd4pg' or 'sac')."""
    out = discrete_generation_config(spec)
    action = spec.task.action
    out["continuous_generator_version"] = CONTINUOUS_GENERATOR_VERSION
    out["task"]["action"] = {"shape": list(action.shape), "minimum": list(action.minimum),
                             "maximum": list(action.maximum)}
    out["task"]["observation_keys"] = [[k, list(s)] for k, s in spec.task.observation_keys]
    if spec.level == "replay":
        out[AGENT_KEYS[type(config)]] = dataclasses.asdict(config)
    return out


class _Rollout:
    """One episode's columns: executed actions, the policy's mean actions, noise stds."""

    def __init__(self, observation: np.ndarray):
        self.observations = [observation]
        self.actions: list[np.ndarray] = []
        self.means: list[np.ndarray] = []
        self.stds: list[float] = []
        self.rewards: list[float] = []
        self.terminated = False

    def add(self, executed: np.ndarray, mean: np.ndarray, std: float, ts) -> bool:
        self.actions.append(executed)
        self.means.append(mean)
        self.stds.append(std)
        self.rewards.append(ts.reward)
        self.observations.append(ts.observation)
        self.terminated = ts.terminated
        return ts.terminated or ts.truncated

    def episode(self, metadata: dict) -> Episode:
        return Episode.from_rollout(
            observations=np.stack(self.observations),
            actions=np.stack(self.actions).astype(np.float32),
            rewards=np.asarray(self.rewards, np.float32), terminated=self.terminated,
            extras={F.MEAN_ACTION: np.stack(self.means).astype(np.float32),
                    F.ACTION_NOISE_STD: np.asarray(self.stds, np.float32)},
            metadata=metadata)


class NStep:
    """Turns one episode's steps into n-step transitions for the replay buffer.

    Transition k: (o_k, a_k, R = sum_{j<m} gamma^j r_{k+j}, d = gamma^m, o_{k+m}) with
    m = n, or fewer at the episode's end; d = 0 when the episode terminated within
    those m steps (a time-limit truncation bootstraps).
    """

    def __init__(self, n: int, gamma: float, add: Callable[..., None]):
        self.n, self.gamma, self._add = n, gamma, add
        self._steps: collections.deque = collections.deque()

    def step(self, obs, action, reward: float, next_obs, terminated: bool, last: bool) -> None:
        self._steps.append((obs, action, reward))
        if len(self._steps) == self.n and not last:
            self._emit(next_obs, terminated=False)
        if last:
            while self._steps:
                self._emit(next_obs, terminated)

    def _emit(self, next_obs, terminated: bool) -> None:
        ret = sum(self.gamma**j * r for j, (_, _, r) in enumerate(self._steps))
        discount = 0.0 if terminated else self.gamma ** len(self._steps)
        obs, action, _ = self._steps.popleft()
        self._add(obs, action, ret, discount, next_obs)


def _run_random(spec: DatasetSpec, env, log: _Log) -> None:
    writer = log.writer
    _check_counter(writer, writer.resume_state())
    low, high = envs.action_bounds(spec.task.action)
    while log.num_transitions < spec.num_steps:
        eid = writer.num_episodes
        obs = env.reset(episode_seed(spec.seed, eid))
        rng = episode_rng(spec.seed, eid)
        rollout = _Rollout(obs)
        while True:
            action = rng.uniform(low, high).astype(np.float32)
            ts = env.step(action)
            if rollout.add(action, action, 0.0, ts):
                break
        log.add(rollout.episode({F.EPISODE_ID: eid, F.RUN: spec.run, F.CHECKPOINT: -1,
                                 F.NOISE: spec.noise}))
        log.maybe_commit(lambda: {"env_steps": np.int64(log.num_transitions)})
    writer.commit(resume_state={"env_steps": np.int64(log.num_transitions)})


def _explorer(spec: DatasetSpec, config: AgentConfig, low: np.ndarray, high: np.ndarray
              ) -> Callable[[jax.Array, np.random.Generator, int],
                            tuple[np.ndarray, np.ndarray, float]]:
    """out (the agent's `explore`), rng, env steps taken -> (executed action, mean action,
    logged std)."""
    half = (high - low) / 2
    if isinstance(config, sac.SACConfig):
        noise_scale = spec.noise * half

        def sac_step(out, rng, env_steps):
            mean, mu, std = np.asarray(out)
            if env_steps < config.random_steps:  # The initial uniform exploration.
                return rng.uniform(low, high).astype(np.float32), mean, spec.noise
            # Two draws per step whatever the noise: the stream is fixed by the episode.
            policy = np.tanh(mu + std * rng.standard_normal(mu.shape))
            executed = np.clip(low + (policy + 1) * half
                               + noise_scale * rng.standard_normal(mu.shape), low, high)
            return executed.astype(np.float32), mean, spec.noise

        return sac_step
    std = math.sqrt(config.sigma**2 + spec.noise**2)
    scale = (std * half).astype(np.float32)

    def d4pg_step(out, rng, env_steps):
        mean = np.asarray(out)
        # One draw per step whatever the noise: the stream is fixed by the episode.
        executed = np.clip(mean + scale * rng.standard_normal(mean.shape),
                           low, high).astype(np.float32)
        return executed, mean, std

    return d4pg_step


def behaviour_agent(task: TaskSpec, behaviour: BehaviourConfig, config: AgentConfig
                    ) -> BehaviourAgent:
    """The shared D4PG or SAC agent of `config`'s type."""
    if isinstance(config, sac.SACConfig):
        return sac.agent_for(task, behaviour, config)
    if isinstance(config, d4pg.D4PGConfig):
        return d4pg.agent_for(task, behaviour, config)
    raise ConfigError(f"unknown behaviour agent config {type(config).__name__}; "
                      f"expected one of {[c.__name__ for c in AGENT_KEYS]}")


def _run_replay(spec: DatasetSpec, env, log: _Log, config: AgentConfig) -> dict:
    """The replay level: the D4PG (or SAC) learns online; every episode is logged."""
    task, cfg, writer = spec.task, spec.task.behaviour, log.writer
    agent = behaviour_agent(task, cfg, config)
    state = agent.init(jax.random.PRNGKey(spec.seed))
    buffer = ReplayBuffer(cfg.replay_capacity, task.observation.shape,
                          np.dtype(task.observation.dtype), spec.seed, cfg.batch_size,
                          action_shape=task.action.shape)
    run = LearningRun(writer, buffer)
    done = run.finished_summary()
    if done is not None:  # Crashed while finalizing.
        return done
    state = run.restore(state)

    low, high = envs.action_bounds(task.action)
    behave = _explorer(spec, config, low, high)
    nstep = NStep(config.n_step, task.gamma, buffer.add)
    random_steps = getattr(config, "random_steps", 0)  # SAC's; the D4PG has none.
    explore, update_and_explore = agent.explore, agent.update_and_explore
    eid = writer.num_episodes - 1
    while log.num_transitions < spec.num_steps:
        eid = writer.num_episodes
        obs = env.reset(episode_seed(spec.seed, eid))
        rng = episode_rng(spec.seed, eid)
        rollout = _Rollout(obs)
        checkpoint = run.num_ckpts - 1
        pending = None
        while True:
            if pending is None:
                out = explore(state.params, obs)
            else:
                state, out, _ = update_and_explore(state, pending, obs)
                pending = None
            executed, mean, std = behave(out, rng, run.env_steps)
            ts = env.step(executed)
            nstep.step(obs, executed, ts.reward, ts.observation, ts.terminated, ts.last)
            run.env_steps += 1
            if (buffer.size >= cfg.min_replay_size and run.env_steps >= random_steps
                    and run.env_steps % cfg.update_period == 0):
                pending = Batch(*buffer.sample(run.sgd_steps))
                run.sgd_steps += 1
            obs = ts.observation
            if rollout.add(executed, mean, std, ts):
                break
        if pending is not None:  # Episodes end with every due update taken (the same
            state, _, _ = update_and_explore(state, pending, obs)  # compiled call; action unused).
        log.add(rollout.episode({F.EPISODE_ID: eid, F.RUN: spec.run, F.CHECKPOINT: checkpoint,
                                 F.NOISE: spec.noise}))
        if (eid + 1) % cfg.checkpoint_every_episodes == 0:
            run.save_checkpoint(jax.device_get(state.params), eid)
        if log.num_transitions < spec.num_steps:
            log.maybe_commit(lambda s=state: run.resume_state(s))
    return run.finish(jax.device_get(state.params), eid)


def _agent_of(manifest: dict) -> BehaviourAgent:
    """The D4PG (or SAC) a raw log's manifest records (its registered task and settings)."""
    generation = manifest["generation"]
    task = registry.get_task(generation["task"]["id"])
    behaviour = dict(generation["behaviour"], hidden=tuple(generation["behaviour"]["hidden"]))
    if "sac" in generation:
        return sac.agent_for(task, BehaviourConfig(**behaviour),
                             sac.SACConfig(**generation["sac"]))
    # Logs made before D4PGConfig.torso existed used the ReLU networks ('mlp').
    return d4pg.agent_for(task, BehaviourConfig(**behaviour),
                          d4pg.D4PGConfig(**{"torso": "mlp", **generation["d4pg"]}))


def load_checkpoint(raw_log_dir: str | Path, index: int = -1
                    ) -> tuple[BehaviourAgent, dict, dict]:
    """D4PG (or SAC) checkpoint `index` (Python indexing; -1: the latest) of a continuous raw log.

    Returns:
      (agent, params, info): the agent (its `act` gives the mean action), the params
      {'policy', 'critic'}, and the checkpoint's manifest entry (index, first_episode,
      last_episode, env_steps, sgd_steps, sha256, file).

    Raises:
      FileNotFoundError: no raw log; IndexError: no such checkpoint;
      CorruptDataError: the file fails its checksum (names the file).
    """
    raw_log_dir = Path(raw_log_dir)
    manifest, info = behaviour_checkpoints.checkpoint_entry(raw_log_dir, index)
    agent = _agent_of(manifest)
    template = agent.init(jax.random.PRNGKey(0)).params
    params = checkpointing.read_payload(raw_log_dir / info["file"], info["sha256"], template)
    return agent, params, dict(info)


def mean_action_policy(agent: BehaviourAgent, params: dict) -> Callable[[np.ndarray], np.ndarray]:
    """The batched deterministic policy obs (B, D) -> actions (B, A), for the evaluator.

    The agent's one jitted `act_batch` serves every checkpoint (agents are shared per
    task and settings, `d4pg.agent_for`): choosing among a run's checkpoints compiles
    once per batch size, not once per checkpoint."""
    return lambda obs: np.asarray(agent.act_batch(params, obs))


def best_checkpoint(raw_log_dir: str | Path, task: TaskSpec, *,
                    num_episodes: int = behaviour_checkpoints.SELECTION_EPISODES
                    ) -> tuple[int, dict[int, float]]:
    """`behaviour_checkpoints.best_checkpoint_greedy` of a continuous log: every checkpoint
    plays its mean action on the held-out selection seeds; (best index, every mean)."""
    raw_log_dir = Path(raw_log_dir)

    def policy_at(position: int) -> Callable[[np.ndarray], np.ndarray]:
        agent, params, _ = load_checkpoint(raw_log_dir, position)
        return mean_action_policy(agent, params)

    return behaviour_checkpoints.best_checkpoint_greedy(
        raw_log_dir, task, num_episodes=num_episodes, policy_at=policy_at)


def learning_curve(raw_log_dir: str | Path, *, num_episodes: int = 5,
                   task: TaskSpec | None = None) -> list[dict]:
    """The learning run of a replay log (complete or under way), one row per checkpoint.

    Row: checkpoint index, env_steps and sgd_steps at the save, `logged_return`: the
    mean return of the logged episodes played since the previous checkpoint (with the
    exploration noise, while learning), and `mean_action_return`: the checkpoint's
    deterministic policy over `num_episodes` held-out reset seeds
    (`behaviour_checkpoints.selection_seeds`, disjoint from the protocols' seeds), on
    `task` (default: the log's registered task).
    """
    log = RawLog(raw_log_dir, require_complete=False, verify=False)  # Also a run under way.
    episodes = log.episodes_table()
    ids, returns = np.asarray(episodes[F.EPISODE_ID]), np.asarray(episodes[F.EPISODE_RETURN])
    task = task or registry.get_task(log.manifest["generation"]["task"]["id"])
    seeds = behaviour_checkpoints.selection_seeds(task.id, num_episodes)
    rows = []
    for info in sorted(log.manifest["checkpoints"], key=lambda c: c["index"]):
        agent, params, _ = load_checkpoint(raw_log_dir, info["index"])
        played = (ids >= info["first_episode"]) & (ids <= info["last_episode"])
        greedy = behaviour_checkpoints.greedy_returns(task, mean_action_policy(agent, params),
                                                      seeds)
        rows.append({"checkpoint": info["index"], "env_steps": info["env_steps"],
                     "sgd_steps": info["sgd_steps"],
                     "logged_return": float(returns[played].mean()),
                     "mean_action_return": float(greedy.mean())})
    return rows


def generate(spec: DatasetSpec, data_dir: str | os.PathLike | None = None, *,
             progress: Progress | None = None,
             shard_transitions: int = DEFAULT_SHARD_TRANSITIONS,
             config: AgentConfig | None = None) -> RawLog:
    """Builds (or resumes) the raw log of a continuous task's dataset (see the module doc).

    Same contract as `generation.generate` (which calls this for continuous tasks);
    `config` overrides the D4PG's own settings (default `D4PGConfig()`), or with a
    `sac.SACConfig` makes SAC the behaviour agent (the fallback; logs it in the manifest
    under 'sac', so its checkpoints load as SAC's).

    Raises:
      ConfigError: a discrete task; the D4RL-style levels' errors (`d4rl_levels`).
    """
    if spec.task.is_discrete:
        raise ConfigError(f"{spec.name}: {spec.task.id} has discrete actions; the continuous "
                          "generator takes continuous tasks")
    numerics.configure()  # Before any JAX computation.
    if spec.level in D4RL_LEVELS:
        # The D4RL-style levels, played from (or copied out of) a replay run's log.
        from rl_unplugged.generation import d4rl_levels

        return d4rl_levels.generate(spec, data_dir, progress=progress,
                                    shard_transitions=shard_transitions)
    config = d4pg.D4PGConfig() if config is None else config

    def play(env, log: _Log) -> dict:
        if spec.level == "replay":
            return _run_replay(spec, env, log, config)
        _run_random(spec, env, log)
        return {}

    return write_raw_log(spec, data_dir, generation_config(spec, config), play,
                         progress=progress, shard_transitions=shard_transitions)

"""Test helpers: tiny raw logs written without the generator.

A uniform random policy is rolled out through `rl_unplugged.envs.make`, aligned
with `Episode.from_rollout` and written with `RawLogWriter`, with the extras and
metadata fields the generator writes, so builder/loader tests do not depend on it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np

from rl_unplugged import envs, paths, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.data.raw_log import RawLog, RawLogWriter
from rl_unplugged.specs import DatasetSpec

TINY_STEPS = 200
REPO = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str | None = None) -> ModuleType:
    """A repository script (benchmarks/, baselines/: scripts, not packages) loaded by path."""
    spec = importlib.util.spec_from_file_location(name or Path(relative).stem, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_spec(name: str = "rlu_bsuite/catch_noise10_run0", num_steps: int = TINY_STEPS
              ) -> DatasetSpec:
    return registry.get_dataset(name).replace(num_steps=num_steps)


def write_random_log(spec: DatasetSpec, root, *, seed: int = 0, episodes_per_shard: int = 7,
                     finalize: bool = True) -> RawLog | None:
    """Writes >= spec.num_steps transitions of a random policy to `paths.raw_dir(spec, root)`."""
    rng = np.random.default_rng(seed)
    task = spec.task
    env = envs.make(task)
    writer = RawLogWriter.open(paths.raw_dir(spec, root), dataset=spec.name,
                               observation_shape=task.observation.shape,
                               observation_dtype=task.observation.dtype,
                               generation={"test_helper": "uniform random", "seed": seed})
    while writer.num_transitions < spec.num_steps:
        obs = [env.reset(int(rng.integers(2**31)))]
        actions, rewards = [], []
        while True:
            a = int(rng.integers(task.num_actions))
            ts = env.step(a)
            actions.append(a)
            rewards.append(ts.reward)
            obs.append(ts.observation)
            if ts.last:
                break
        num = len(actions)
        writer.add(Episode.from_rollout(
            observations=np.stack(obs), actions=np.array(actions), rewards=np.array(rewards),
            terminated=ts.terminated,
            extras={F.ACTION_REPLACED: rng.random(num) < spec.noise,
                    F.AGENT_ACTION: np.array(actions),
                    F.GREEDY_ACTION: rng.integers(task.num_actions, size=num)},
            metadata={F.EPISODE_ID: writer.num_episodes, F.RUN: spec.run,
                      F.CHECKPOINT: writer.num_episodes // 10, F.NOISE: spec.noise}))
        if writer.num_pending >= episodes_per_shard:
            writer.commit()
    env.close()
    if not finalize:  # An interrupted generation: committed so far, then the writer gone.
        writer.commit()
        writer.close()
        return None
    writer.finalize()
    return RawLog(paths.raw_dir(spec, root))

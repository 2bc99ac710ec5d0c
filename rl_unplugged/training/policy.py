"""Loading trained members back from a run directory (for evaluation and selection)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from rl_unplugged import agents as agents_lib
from rl_unplugged import checkpointing, compile_cache, registry
from rl_unplugged.agents import Learner
from rl_unplugged.errors import ConfigError, NotFoundError
from rl_unplugged.training.loop import CONFIG_FILE

list_checkpoints = checkpointing.list_checkpoints


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's resolved config.json."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise NotFoundError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    return json.loads(path.read_text())


def list_members(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """[{'member': i, 'seed': s, 'grid': {...}}, ...] of the run's ensemble."""
    return read_config(run_dir)["members"]


def _learner_and_params(run_dir, member: int, checkpoint: int | None) -> tuple[Learner, Any]:
    header = read_config(run_dir)
    members = header["members"]
    if not 0 <= member < len(members):
        raise ConfigError(f"member {member} out of range: {run_dir} has {len(members)} members")
    config = dict(header["config"])
    config.update(members[member]["grid"])
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    # Fields the run's config.json predates take the value it was trained with.
    for key, value in agents_lib.get_agent(header["agent"]).config_cls.OLD_RUN_DEFAULTS.items():
        config.setdefault(key, value)
    task = registry.get_task(header["task"])
    learner = agents_lib.make_learner(header["agent"], task,
                                      agents_lib.make_config(header["agent"], **config))
    _, raw = checkpointing.restore_raw(Path(run_dir), checkpoint)
    params = jax.tree.map(lambda x: np.asarray(x)[member], raw["params"])
    return learner, params


def _functions(learner: Learner) -> tuple[Callable, Callable]:
    # Jitted action-value and greedy functions by (agent, config, task): every member and
    # checkpoint of a run shares one compilation (params are arguments, not constants).
    def build():
        q = learner.q_values
        if learner.act is not None:  # Continuous: the policy's deterministic (mean) action.
            return jax.jit(q), jax.jit(learner.act)
        return jax.jit(q), jax.jit(lambda p, o: q(p, o).argmax(-1))

    return compile_cache.cached(("policy", learner.name, learner.config, learner.task), build)


def load_q_function(run_dir: str | os.PathLike, member: int = 0, checkpoint: int | None = None
                    ) -> Callable[[np.ndarray], np.ndarray]:
    """obs (B, *obs_shape) -> (B, A) float32 action values of one member.

    Q-values for DQN/CQL, the mean over quantiles for QR-DQN, logits for BC. Continuous
    learners: (B, 1), the critic at the policy's mean action (`Learner.q_values`).
    `checkpoint` is a step from `list_checkpoints(run_dir)` (default: the latest).
    """
    learner, params = _learner_and_params(run_dir, member, checkpoint)
    q, _ = _functions(learner)
    return lambda obs: np.asarray(q(params, np.asarray(obs)), np.float32)


def load_policy(run_dir: str | os.PathLike, member: int = 0, checkpoint: int | None = None
                ) -> Callable[[np.ndarray], np.ndarray]:
    """Batched greedy policy of one member: obs (B, *obs_shape) -> actions.

    Discrete tasks: (B,) int64, the argmax of `q_values`. Continuous tasks: (B, A)
    float32, the policy's deterministic (mean) action inside the action bounds.
    """
    learner, params = _learner_and_params(run_dir, member, checkpoint)
    _, act = _functions(learner)
    dtype = np.float32 if learner.act is not None else np.int64
    return lambda obs: np.asarray(act(params, np.asarray(obs)), dtype)

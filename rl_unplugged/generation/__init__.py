"""Generation of raw logs: every episode an online agent (or a fixed policy) plays.

Public API:
  generate(spec, data_dir=None, *, progress=None) -> RawLog
  load_checkpoint(raw_log_dir, index=-1) -> (module, params, info)
  best_checkpoint(raw_log_dir) -> index of the expert checkpoint (by logged returns)
  best_checkpoint_greedy(raw_log_dir, task) -> (index, means): by greedy returns on
    held-out `selection_seeds` (what the expert levels and references use)
  greedy_policy(task, params, hidden) -> obs (B, ...) -> actions (B,)
"""

from rl_unplugged.generation.behaviour_checkpoints import (
    best_checkpoint,
    best_checkpoint_greedy,
    greedy_policy,
    greedy_returns,
    load_checkpoint,
    selection_seeds,
)
from rl_unplugged.generation.generate import (
    DEFAULT_SHARD_TRANSITIONS,
    episode_rng,
    episode_seed,
    generate,
    generation_config,
    validate,
)

__all__ = ["DEFAULT_SHARD_TRANSITIONS", "best_checkpoint", "best_checkpoint_greedy",
           "episode_rng", "episode_seed", "generate", "generation_config", "greedy_policy",
           "greedy_returns", "load_checkpoint", "selection_seeds", "validate"]

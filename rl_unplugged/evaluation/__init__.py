"""Protocol-fixed evaluation: frozen protocols, a batched evaluator, normalisation.

    from rl_unplugged.evaluation import get_protocol, evaluate
    result = evaluate(policy, get_protocol("bsuite/catch"))   # policy: obs batch -> actions
"""

from rl_unplugged.evaluation.evaluator import (
    EpisodeStats,
    RunPolicy,
    check_result,
    evaluate,
    load_result,
    load_run_policy,
    run_episodes,
    save_result,
)
from rl_unplugged.evaluation.normalisation import MissingReferenceError, normalise
from rl_unplugged.evaluation.protocols import (
    Protocol,
    ProtocolViolation,
    all_protocols,
    get_protocol,
)

__all__ = ["EpisodeStats", "MissingReferenceError", "Protocol", "ProtocolViolation",
           "RunPolicy", "all_protocols", "check_result", "evaluate", "get_protocol",
           "load_result", "load_run_policy", "normalise", "run_episodes", "save_result"]

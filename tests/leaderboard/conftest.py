"""Small protocols (4 episodes, references 0 and 10) and valid submissions built on them."""

import json
import math

import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import protocols as P
from rl_unplugged.leaderboard import board

NUM_EPISODES = 4


def make_small_protocols(expert=10.0):
    return {t.id: P.make_protocol(P.settings(t, num_episodes=NUM_EPISODES),
                                  {"random": {"value": 0.0}, "expert": {"value": expert}})
            for t in registry.tasks()}


def feasible(protocol, x):
    """x in [0, 20] mapped affinely into the protocol's feasible return range (into
    [-1000, 1000] where the range is unbounded: gymnasium MuJoCo's rewards)."""
    lo, hi = protocol.feasible_return_range
    if not (math.isfinite(lo) and math.isfinite(hi)):  # Atari and MuJoCo: no bounds.
        lo, hi = -1000.0, 1000.0
    return lo + (hi - lo) * x / 20


def make_submission(protocols, name="Entry A", track="bsuite", runs=3, offset=0.0, **kwargs):
    """Returns offset + run + episode + task/2 (all below 20), scaled into each task's
    feasible range: the same affine map per task for every entry keeps their order."""
    tasks = registry.track_tasks(track)
    returns = {t: [[feasible(protocols[t], offset + r + e + 0.5 * j) for e in range(NUM_EPISODES)]
                   for r in range(runs)]
               for j, t in enumerate(tasks)}
    return board.submission_template(protocols, track, name, returns, **kwargs)


@pytest.fixture(scope="session")
def small_protocols():
    return make_small_protocols()


@pytest.fixture
def write_json(tmp_path):
    def write(obj, name="sub.json"):
        path = tmp_path / name
        path.write_text(json.dumps(obj))
        return path
    return write

"""Published random and human scores: the normalisation references of the Atari tasks.

Atari scores are conventionally human-normalised, (score - random) / (human - random),
against published per-game scores of a uniform random policy and of a professional human
game tester, rather than references measured under each protocol (as `references.py`
does for the tasks built here). Measuring them here would cost 100 random episodes of up
to 27,000 steps for each of 46 games, and would not give the human score anyway.

Source: Badia et al., *Agent57: Outperforming the Atari Human Benchmark*, ICML 2020
(random and average human scores of Atari-57; those of the 49 games of Mnih et al.,
*Human-level control through deep reinforcement learning*, Nature 2015, extended), as
transcribed in google-deepmind/dqn_zoo `dqn_zoo/atari_data.py`. Those scores were measured
with 1 to 30 no-op starts, without sticky actions, under a 108,000-frame cap: not exactly
this suite's protocol (sticky actions 0.25, no no-op starts), as is the common practice
(Machado et al. 2018; Agarwal et al. 2020 normalise the same way).

Carnival and Pooyan are not Atari-57 games: no published human score exists for them, so
their references are recorded as `unavailable` and normalisation refuses them (their raw
returns still count on their single-game tracks).

In `data/references.json` the human score is the `expert` record (the name every
protocol's normalisation reads), with `"kind": "human"`. `python -m
rl_unplugged.evaluation.atari_references [FILE]` (re)writes them there (other tasks'
records kept); then `rlu protocols freeze`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rl_unplugged import fileio, registry

SOURCE = ("Badia et al. 2020 (Agent57, ICML), Atari-57 random and human scores, as "
          "transcribed in google-deepmind/dqn_zoo dqn_zoo/atari_data.py")
CONDITIONS = ("published score, not measured under this protocol: 1-30 no-op starts, no "
              "sticky actions, 108,000-frame cap")
# Task name: (random, human) scores; the 44 RL Unplugged games of Atari-57.
PUBLISHED_SCORES: dict[str, tuple[float, float]] = {
    "alien": (227.8, 7127.7), "amidar": (5.8, 1719.5), "assault": (222.4, 742.0),
    "asterix": (210.0, 8503.3), "atlantis": (12850.0, 29028.1), "bank_heist": (14.2, 753.1),
    "battle_zone": (2360.0, 37187.5), "beam_rider": (363.9, 16926.5), "boxing": (0.1, 12.1),
    "breakout": (1.7, 30.5), "centipede": (2090.9, 12017.0),
    "chopper_command": (811.0, 7387.8), "crazy_climber": (10780.5, 35829.4),
    "demon_attack": (152.1, 1971.0), "double_dunk": (-18.6, -16.4), "enduro": (0.0, 860.5),
    "fishing_derby": (-91.7, -38.7), "freeway": (0.0, 29.6), "frostbite": (65.2, 4334.7),
    "gopher": (257.6, 2412.5), "gravitar": (173.0, 3351.4), "hero": (1027.0, 30826.4),
    "ice_hockey": (-11.2, 0.9), "jamesbond": (29.0, 302.8), "kangaroo": (52.0, 3035.0),
    "krull": (1598.0, 2665.5), "kung_fu_master": (258.5, 22736.3),
    "ms_pacman": (307.3, 6951.6), "name_this_game": (2292.3, 8049.0),
    "phoenix": (761.4, 7242.6), "pong": (-20.7, 14.6), "qbert": (163.9, 13455.0),
    "riverraid": (1338.5, 17118.0), "road_runner": (11.5, 7845.0), "robotank": (2.2, 11.9),
    "seaquest": (68.4, 42054.7), "space_invaders": (148.0, 1668.7),
    "star_gunner": (664.0, 10250.0), "time_pilot": (3568.0, 5229.2),
    "up_n_down": (533.4, 11693.2), "video_pinball": (16256.9, 17667.9),
    "wizard_of_wor": (563.5, 4756.5), "yars_revenge": (3092.9, 54576.9),
    "zaxxon": (32.5, 9173.3),
}
REFERENCES_FORMAT = "rl_unplugged normalisation references"  # As references.py writes.
UNAVAILABLE_NOTE = ("no published random or human score: not an Atari-57 game (Badia et al. "
                    "2020); normalisation refuses this task")


def published_references(task_id: str) -> dict[str, Any]:
    """The reference records of an Atari task: {'random': ..., 'expert': ...}.

    Raises:
      UnknownNameError: not a registered task. ValueError: not an Atari task.
    """
    task = registry.get_task(task_id)
    if task.domain != "atari":
        raise ValueError(f"{task_id} is not an Atari task; its references are measured "
                         "(rl_unplugged.evaluation.references)")
    if task.name not in PUBLISHED_SCORES:
        return {kind: {"value": None, "status": "unavailable", "note": UNAVAILABLE_NOTE}
                for kind in ("random", "expert")}
    random, human = PUBLISHED_SCORES[task.name]
    return {
        "random": {"value": random, "status": "published", "kind": "random",
                   "how": "uniform random policy; " + CONDITIONS, "source": SOURCE},
        "expert": {"value": human, "status": "published", "kind": "human",
                   "how": "average score of a professional human game tester; " + CONDITIONS,
                   "source": SOURCE},
    }


def with_published_references(references: Mapping[str, Any]) -> dict[str, Any]:
    """A references document with every Atari task's published records (others kept)."""
    doc = {**references, "tasks": dict(references.get("tasks", {}))}
    for task in registry.tasks("atari"):
        doc["tasks"][task.id] = published_references(task.id)
    return doc


def record_published_references(path: str | Path) -> dict[str, Any]:
    """Writes every Atari task's published records into the references file `path`
    (created if missing; other tasks' records kept); returns the document."""
    path = Path(path)
    existing = json.loads(path.read_text()) if path.exists() else {
        "format": REFERENCES_FORMAT, "tasks": {}}
    doc = with_published_references(existing)
    fileio.write_json(path, doc)
    return doc


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "data" / "references.json"
    record_published_references(out)
    print(f"wrote {out}")

"""RL Unplugged's Atari files as a `Source` of the registered Atari task.

`rl_unplugged.data.rlu_originals.AtariSource` reads the files (GZIP TFRecord transitions;
the alignment is documented there) under an ad-hoc task with ALE's full action set.
`RegisteredAtariSource(prefix)` reads the same files under the registered task of
their game (`registry.atari_task_for_game`: the minimal action set RL Unplugged's DQN
runs played, 27,000-step episodes), with the dataset name its protocol allows
(`rlu_atari/<Game>_run_<n>`). A store materialised from it trains learners whose runs
evaluate under the game's protocol and can be submitted to the `atari` tracks.
`uri.open_source("rlu-gcs:<root>/<Game>/run_<n>", task=<the game's task>)` (and so
`rlu datasets import ... --task atari/<game>`) gives this source.
"""

from __future__ import annotations

import re

from rl_unplugged import registry
from rl_unplugged.data.rlu_originals import AtariSource
from rl_unplugged.data.sources import DelegatingSource
from rl_unplugged.errors import ConfigError, IncompatibleError
from rl_unplugged.specs import TaskSpec


class RegisteredAtariSource(DelegatingSource):
    """An `AtariSource` whose task is the registered task of its game."""

    def __init__(self, prefix: str, task: TaskSpec | None = None):
        """Args: prefix: `<root>/<Game>/run_<n>` (anything `tf.io.gfile` opens); task:
        the task the caller expects (checked against the game's).

        Raises:
          ConfigError: a prefix not ending in <Game>/run_<n>. UnknownNameError: a game
            RL Unplugged does not have. IncompatibleError: `task` is not the game's.
            NotFoundError: no shards.
        """
        match = re.search(r"([^/]+)/run_\d+$", prefix.rstrip("/"))
        if not match:
            raise ConfigError(f"rlu-gcs:{prefix}: Atari paths end in <Game>/run_<n>")
        game = registry.atari_task_for_game(match.group(1))
        if task is not None and task.id != game.id:
            raise IncompatibleError(f"rlu-gcs:{prefix} holds {game.id}, not {task.id}")
        task = game if task is None else task
        super().__init__(AtariSource(prefix, num_actions=task.num_actions), task=task)


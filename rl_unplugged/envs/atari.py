"""Atari 2600 games through ale-py, under RL Unplugged's (Dopamine's) settings.

The settings are `registry.ATARI_SETTINGS` (documented there): sticky actions 0.25 per
emulator frame, each game's minimal action set, 4 frames per agent step with the max of
the last two, 84x84 greyscale (cv2 INTER_AREA), a stack of the last 4 frames (zeros
before the first), no no-op starts, an episode ends at game over only (never at a life
loss), 108,000 frames = 27,000 agent steps at most (applied by `TimeLimit` from the
task's `max_episode_steps`; ALE's own cap is lifted so that only `TimeLimit` truncates).

gymnasium's `AtariPreprocessing` and `FrameStackObservation` do the work (the same
operations, in the same order, as Dopamine's `AtariPreprocessing` and replay stacking);
envpool is not used (not installed here). Observations are (84, 84, 4) uint8, oldest frame
first on the last axis, as RL Unplugged's files store `o_t`. Rewards are the game's raw
score changes (unclipped): protocols report raw game scores.
"""

from __future__ import annotations

import numpy as np

from rl_unplugged.envs.base import Environment, TimeStep
from rl_unplugged.errors import IncompatibleError
from rl_unplugged.registry import ATARI_SETTINGS
from rl_unplugged.specs import TaskSpec


def make_gymnasium_env(task: TaskSpec):
    """The task's gymnasium environment, preprocessed and stacked (no time limit).

    Its observations are (frame_stack, 84, 84) uint8 (gymnasium's stacking axis first).
    """
    import ale_py
    import gymnasium
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    s = ATARI_SETTINGS
    gymnasium.register_envs(ale_py)
    env = gymnasium.make(
        task.env_id, frameskip=1,  # AtariPreprocessing skips (and max-pools) the frames.
        repeat_action_probability=task.sticky_action_prob,
        full_action_space=s.full_action_space,
        max_num_frames_per_episode=None,  # ALE's own cap lifted: `TimeLimit` truncates.
        disable_env_checker=True)
    env = AtariPreprocessing(env, noop_max=s.noop_max, frame_skip=s.frame_skip,
                             screen_size=s.screen_size,
                             terminal_on_life_loss=s.terminal_on_life_loss,
                             grayscale_obs=s.grayscale, scale_obs=False)
    return FrameStackObservation(env, s.frame_stack, padding_type=s.stack_padding)


class AtariEnv(Environment):
    """One ALE game (`env_id` 'ALE/<Game>-v5') as an `Environment`; see the module doc.

    Raises (at construction):
      IncompatibleError: the game's action set is not the task's `num_actions`.
    """

    def __init__(self, task: TaskSpec):
        super().__init__(task)
        self._env = make_gymnasium_env(task)
        n = int(self._env.action_space.n)
        if n != task.num_actions:
            raise IncompatibleError(f"{task.id}: ALE's {task.env_id} has {n} actions in its "
                                    f"minimal set, the task says {task.num_actions}")

    @staticmethod
    def _observation(stack: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(np.asarray(stack, np.uint8), 0, -1))

    def reset(self, seed: int) -> np.ndarray:
        # Seeding the reset reseeds ALE's generator (sticky actions): the episode is a
        # pure function of `seed`.
        obs, _ = self._env.reset(seed=int(seed))
        return self._observation(obs)

    def step(self, action: int) -> TimeStep:
        obs, reward, terminated, _, _ = self._env.step(action)
        return TimeStep(self._observation(obs), float(reward), bool(terminated), False)

    def close(self) -> None:
        self._env.close()

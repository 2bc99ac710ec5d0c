"""Field names of RLDS steps, episode metadata and transitions (one place)."""

# RLDS step fields.
STEPS = "steps"
OBSERVATION = "observation"
ACTION = "action"
REWARD = "reward"
DISCOUNT = "discount"
IS_FIRST = "is_first"
IS_LAST = "is_last"
IS_TERMINAL = "is_terminal"
# Extras logged with each step of the suite's datasets.
ACTION_REPLACED = "action_replaced"  # The executed action was replaced by a random one.
# The behaviour agent's own (epsilon-greedy) choice, before action noise.
AGENT_ACTION = "agent_action"
# argmax_a Q(o, a) of the behaviour agent's network at that step; -1 where the policy
# has no Q-function (the random level). Before v2 this name held the epsilon-greedy
# choice that `agent_action` holds now (issue 8 defect 6).
GREEDY_ACTION = "greedy_action"

# Extras of continuous tasks' logs instead (Gaussian action noise, generation/continuous.py).
MEAN_ACTION = "mean_action"  # The policy's deterministic action before noise, (A,) float32.
ACTION_NOISE_STD = "action_noise_std"  # Std of the Gaussian noise added to it (float32).

STEP_FIELDS = (OBSERVATION, ACTION, REWARD, DISCOUNT, IS_FIRST, IS_LAST, IS_TERMINAL)
STEP_EXTRAS = (ACTION_REPLACED, AGENT_ACTION, GREEDY_ACTION)
CONTINUOUS_STEP_EXTRAS = (MEAN_ACTION, ACTION_NOISE_STD)

# Episode metadata.
EPISODE_ID = "episode_id"
EPISODE_RETURN = "episode_return"
EPISODE_LENGTH = "episode_length"  # Environment steps (transitions) in the episode.
RUN = "run"
# The latest behaviour checkpoint saved before the episode (-1: none); the agent kept
# learning while it played, so this is not the exact policy that acted.
CHECKPOINT = "checkpoint"
NOISE = "noise"
# A source's own id of the episode (e.g. RL Unplugged's uint64 ids, as int64 bits), kept
# beside the store's episode_id; the npz export writes it as its episode_id.
SOURCE_EPISODE_ID = "source_episode_id"
EPISODE_METADATA = (EPISODE_ID, EPISODE_RETURN, EPISODE_LENGTH, RUN, CHECKPOINT, NOISE)

# Transition fields (see rl_unplugged.data.transitions).
NEXT_OBSERVATION = "next_observation"
STEP_INDEX = "step"
# Set on the last transition of an episode that ended by the time limit (not a
# termination): its discount stays 1 and learners bootstrap from next_observation.
TRUNCATED = "truncated"

# Episode index of a store (see rl_unplugged.data.store): where each episode's
# transitions start and how many there are.
EPISODE_START = "start"
TERMINATED = "terminated"

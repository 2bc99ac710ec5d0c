import numpy as np
import pytest

from rl_unplugged.data import fields as F
from rl_unplugged.data import transitions
from rl_unplugged.data.episode import Episode
from rl_unplugged.specs import ActionSpec


def make_episode(eid, length, terminated, obs_dim=2):
    obs = np.arange((length + 1) * obs_dim, dtype=np.float32).reshape(length + 1, obs_dim) + eid
    return Episode.from_rollout(
        observations=obs, actions=np.arange(length) % 2, rewards=np.ones(length),
        terminated=terminated, extras={F.ACTION_REPLACED: np.zeros(length, bool)},
        metadata={F.EPISODE_ID: eid})


def test_alignment_of_terminal_and_truncated_episodes():
    term = make_episode(0, 3, True)
    trunc = make_episode(1, 3, False)
    np.testing.assert_array_equal(term.steps[F.DISCOUNT], [1, 1, 0, 0])
    np.testing.assert_array_equal(trunc.steps[F.DISCOUNT], [1, 1, 1, 0])
    np.testing.assert_array_equal(term.steps[F.IS_FIRST], [1, 0, 0, 0])
    np.testing.assert_array_equal(term.steps[F.IS_LAST], [0, 0, 0, 1])
    np.testing.assert_array_equal(term.steps[F.IS_TERMINAL], [0, 0, 0, 1])
    assert not trunc.steps[F.IS_TERMINAL].any()
    assert term.metadata[F.EPISODE_RETURN] == 3.0 and term.metadata[F.EPISODE_LENGTH] == 3


def test_from_rollout_rejects_inconsistent_lengths():
    with pytest.raises(ValueError, match="lengths"):
        Episode.from_rollout(observations=np.zeros((3, 2)), actions=np.zeros(3),
                             rewards=np.zeros(3), terminated=True, metadata={F.EPISODE_ID: 0})


def test_transitions_from_steps():
    eps = [make_episode(0, 2, True), make_episode(1, 1, False)]
    steps = {k: np.concatenate([e.steps[k] for e in eps]) for k in eps[0].steps}
    t = transitions.from_steps(steps)
    assert t.size == 3
    np.testing.assert_array_equal(t.discount, [1, 0, 1])
    np.testing.assert_array_equal(t.episode_id, [0, 0, 1])
    np.testing.assert_array_equal(t.step, [0, 1, 0])
    np.testing.assert_array_equal(t.next_observation[1], eps[0].steps[F.OBSERVATION][2])
    np.testing.assert_array_equal(t.next_observation[2], eps[1].steps[F.OBSERVATION][1])


def test_transitions_reject_partial_episodes():
    ep = make_episode(0, 2, True)
    steps = {k: v[:-1] for k, v in ep.steps.items()}
    with pytest.raises(ValueError, match="whole episodes"):
        transitions.from_steps(steps)


def test_transitions_namedtuple_methods_work():
    eps = [make_episode(0, 2, True), make_episode(1, 1, False)]
    t = transitions.from_steps({k: np.concatenate([e.steps[k] for e in eps]) for k in eps[0].steps})
    doubled = t._replace(reward=t.reward * 2)
    assert doubled.size == 3 and len(doubled) == len(transitions.Transitions._fields)
    np.testing.assert_array_equal(doubled.reward, t.reward * 2)


def test_truncated_marks_the_last_transition_of_time_limited_episodes():
    eps = [make_episode(0, 2, True), make_episode(1, 3, False), make_episode(2, 1, False)]
    t = transitions.from_steps({k: np.concatenate([e.steps[k] for e in eps]) for k in eps[0].steps})
    np.testing.assert_array_equal(t.truncated, [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(t.discount, [1, 0, 1, 1, 1, 1])
    assert t.subset(np.array([4])).truncated.tolist() == [True]
    no_flags = t._replace(truncated=None)
    assert transitions.concatenate([no_flags, no_flags]).truncated is None
    assert no_flags.subset(np.array([0])).truncated is None


def continuous_episode(eid, length):
    rng = np.random.default_rng(eid)
    return Episode.from_rollout(
        observations=rng.normal(size=(length + 1, 3)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(length, 2)), rewards=np.ones(length),
        terminated=False, metadata={F.EPISODE_ID: eid})


def test_continuous_actions_become_float32_vectors():
    eps = [continuous_episode(0, 2), continuous_episode(1, 3)]
    steps = {k: np.concatenate([e.steps[k] for e in eps]) for k in eps[0].steps}
    space = ActionSpec.continuous([-1, -1], [1, 1])
    t = transitions.from_steps(steps, action=space)
    assert t.action.shape == (5, 2) and t.action.dtype == np.float32
    np.testing.assert_array_equal(t.action[2:], eps[1].steps[F.ACTION][:3])
    assert transitions.from_steps(steps).action.dtype == np.float32  # Inferred from (S, A).
    with pytest.raises(ValueError, match="action space"):
        transitions.from_steps(steps, action=ActionSpec.continuous([-1], [1]))
    discrete = make_episode(0, 2, True)
    t = transitions.from_steps(discrete.steps, action=ActionSpec.discrete(2))
    assert t.action.dtype == np.int32 and t.action.shape == (2,)


def test_from_rollout_pads_continuous_actions_and_refuses_other_shapes():
    ep = continuous_episode(0, 2)
    assert ep.steps[F.ACTION].dtype == np.float32
    np.testing.assert_array_equal(ep.steps[F.ACTION][-1], [0, 0])
    with pytest.raises(ValueError, match="shape"):
        Episode.from_rollout(observations=np.zeros((3, 2)), actions=np.zeros((2, 1, 1)),
                             rewards=np.zeros(2), terminated=True, metadata={F.EPISODE_ID: 0})


def test_dict_observations_are_flattened_in_registered_order():
    keys = (("velocity", (1,)), ("position", (2,)))
    ep = make_episode(0, 2, True)
    steps = dict(ep.steps)
    steps[F.OBSERVATION] = {"position": np.array([[0, 1], [2, 3], [4, 5]], np.float32),
                            "velocity": np.array([[10], [20], [30]], np.float32)}
    t = transitions.from_steps(steps, observation_keys=keys)
    np.testing.assert_array_equal(t.observation, [[10, 0, 1], [20, 2, 3]])
    np.testing.assert_array_equal(t.next_observation, [[20, 2, 3], [30, 4, 5]])
    with pytest.raises(ValueError, match="observation_keys"):
        transitions.from_steps(steps)

import numpy as np
import pytest

from rl_unplugged.data import fields as F
from rl_unplugged.data import transitions
from rl_unplugged.data.episode import Episode


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

"""Each conformance rule on a hand-built good episode and a broken copy."""

import numpy as np
import pytest

from rl_unplugged.data import conformance
from rl_unplugged.data import fields as F
from rl_unplugged.data.episode import Episode
from rl_unplugged.specs import ActionSpec


def good(terminated=True):
    return Episode.from_rollout(
        observations=np.arange(4, dtype=np.float32).reshape(4, 1),
        actions=np.array([0, 2, 1]), rewards=np.array([1.0, 0.5, -2.0]),
        terminated=terminated,
        extras={F.ACTION_REPLACED: np.array([True, False, True]),
                F.GREEDY_ACTION: np.array([1, 2, 1])},
        metadata={F.EPISODE_ID: 7})


def broken(change, terminated=True):
    ep = good(terminated)
    steps = {k: v.copy() for k, v in ep.steps.items()}
    meta = dict(ep.metadata)
    change(steps, meta)
    return steps, meta


def set_(key, index, value):
    def change(steps, meta):
        steps[key][index] = value
    return change


@pytest.mark.parametrize("terminated", [True, False])
def test_good_episodes_conform(terminated):
    ep = good(terminated)
    assert ep.metadata[F.EPISODE_RETURN] == -0.5
    assert conformance.check_episode(ep.steps, ep.metadata, num_actions=3) == []


CASES = {
    "is_first late": (set_(F.IS_FIRST, 2, True), "is_first"),
    "is_first missing": (set_(F.IS_FIRST, 0, False), "is_first"),
    "is_last early": (set_(F.IS_LAST, 1, True), "is_last"),
    "is_last missing": (set_(F.IS_LAST, 3, False), "is_last"),
    "is_terminal early": (set_(F.IS_TERMINAL, 1, True), "is_terminal set before"),
    "terminal with discount 1": (set_(F.DISCOUNT, 2, 1.0), "expected 0"),
    "discount 0 mid-episode": (set_(F.DISCOUNT, 0, 0.0), "discount != 1"),
    "reward not padded": (set_(F.REWARD, 3, 1.0), "not padding: reward"),
    "action not padded": (set_(F.ACTION, 3, 1), "not padding: action"),
    "discount not padded": (set_(F.DISCOUNT, 3, 1.0), "not padding: discount"),
    "extra not padded": (set_(F.GREEDY_ACTION, 3, 2), "not padding: greedy_action"),
    "action out of range": (set_(F.ACTION, 1, 3), "outside [0, 3)"),
    "return": (lambda s, m: m.update({F.EPISODE_RETURN: 1.0}), "episode_return"),
    "length": (lambda s, m: m.update({F.EPISODE_LENGTH: 4}), "episode_length 4"),
    "ragged": (lambda s, m: s.update({F.REWARD: s[F.REWARD][:3]}), "different lengths"),
    "missing field": (lambda s, m: s.pop(F.IS_TERMINAL), "missing step fields"),
    "NaN observation": (set_(F.OBSERVATION, 2, np.nan), "observation holds NaN on steps [2]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_has_a_failing_case(case):
    change, message = CASES[case]
    problems = conformance.check_episode(*broken(change), num_actions=3)
    assert any(message in p for p in problems), problems


def test_truncated_episode_with_terminal_discount_fails():
    steps, meta = broken(set_(F.DISCOUNT, 2, 0.0), terminated=False)
    assert any("non-terminal" in p for p in conformance.check_episode(steps, meta))


def test_single_step_episode_fails():
    ep = good()
    steps = {k: v[:1] for k, v in ep.steps.items()}
    assert "at least 2" in conformance.check_episode(steps, ep.metadata)[0]


def test_dataset_report_counts_and_names_episodes():
    a, b = good(True), good(False)
    b.metadata[F.EPISODE_ID] = 8
    bad_steps, bad_meta = broken(set_(F.IS_LAST, 1, True))
    bad_meta[F.EPISODE_ID] = 9
    dup = good(True)  # episode_id 7 again
    report = conformance.check_dataset([a, b, (bad_steps, bad_meta), dup], num_actions=3)
    assert (report.num_episodes, report.num_steps, report.num_transitions) == (4, 16, 12)
    assert report.num_terminal == 3
    assert not report.ok
    assert [i for i, _ in report.problems] == [9, 7]
    assert "duplicate" in report.problems[1][1]
    assert "episode 9" in report.summary()
    assert conformance.check_dataset([a, b]).ok


def continuous(actions):
    return Episode.from_rollout(
        observations=np.zeros((4, 2), np.float32), actions=np.asarray(actions, np.float32),
        rewards=np.ones(3), terminated=False, metadata={F.EPISODE_ID: 0})


def test_continuous_actions_within_bounds():
    space = ActionSpec.continuous([-1.0, 0.0], [1.0, 2.0])
    ok = continuous([[-1.0, 0.0], [0.5, 2.0], [1.0, 1.0]])
    assert ok.steps[F.ACTION].shape == (4, 2) and ok.steps[F.ACTION].dtype == np.float32
    assert conformance.check_episode(ok.steps, ok.metadata, action=space) == []
    bad = continuous([[-1.0, 0.0], [0.5, 2.5], [np.nan, 1.0]])
    problems = conformance.check_episode(bad.steps, bad.metadata, action=space)
    assert problems == ["actions outside the action space continuous (2-d in [-1.0, 2.0]) "
                        "(shape (2,)) on steps [1, 2]"]
    wrong_shape = continuous([[0.0], [0.0], [0.0]])
    assert "on steps [0, 1, 2]" in conformance.check_episode(
        wrong_shape.steps, wrong_shape.metadata, action=space)[0]


def test_discrete_action_spec_is_the_same_rule_as_num_actions():
    steps, meta = broken(set_(F.ACTION, 1, 3))
    assert (conformance.check_episode(steps, meta, action=ActionSpec.discrete(3))
            == conformance.check_episode(steps, meta, num_actions=3))


def block(episodes):
    steps = {k: np.concatenate([s[k] for s, _ in episodes]) for k in episodes[0][0]}
    meta = {k: np.array([m[k] for _, m in episodes]) for k in episodes[0][1]}
    return steps, meta


def with_id(ep, episode_id):
    return ep.steps, dict(ep.metadata, episode_id=episode_id)


def test_block_check_of_good_episodes_is_empty():
    episodes = [with_id(good(i % 2 == 0), i) for i in range(5)]
    assert conformance.check_block(*block(episodes), action=ActionSpec.discrete(3)) == []


@pytest.mark.parametrize("case", sorted(set(CASES) - {"ragged", "missing field"}))
def test_block_check_finds_what_the_episode_check_finds(case):
    """Each broken episode among good ones: the vectorised check names it and the rule."""
    change, message = CASES[case]
    steps, meta = broken(change)
    episodes = [with_id(good(), 1), (steps, dict(meta, episode_id=7)), with_id(good(False), 9)]
    problems = conformance.check_block(*block(episodes), action=ActionSpec.discrete(3))
    assert any(message in p for _, p in problems), problems
    if case not in ("is_first late", "is_first missing", "is_last early", "is_last missing"):
        # (Broken boundaries are re-split by is_first: the ids there are not the logged ones.)
        assert {i for i, _ in problems} == {7}, problems


def test_block_check_finds_duplicate_ids():
    problems = conformance.check_block(*block([with_id(good(), 3), with_id(good(), 3)]))
    assert problems == [(3, "duplicate episode_id")]

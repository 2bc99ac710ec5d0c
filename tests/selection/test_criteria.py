"""Hand-computed checks of each selection criterion on tiny arrays."""

import dataclasses
import math

import numpy as np
import pytest

from rl_unplugged.errors import ConfigError, IncompatibleError, UnknownNameError
from rl_unplugged.selection import (
    Candidate,
    Split,
    criteria,
    fqe,
    ope,
    rank_scores,
    representation,
    sbv,
    score_pool,
    split_by_episode,
    td,
)
from rl_unplugged.selection.result import CriterionResult
from tests.selection.helpers import random_transitions, transitions


def identity_candidate(name="id", **kw):
    return Candidate(name=name, num_actions=2, observation_shape=(2,),
                     q=lambda o: np.asarray(o, np.float64), **kw)


def test_td_error_by_hand():
    # Q(s) = s. (1) s=[1,0], a=0: Q=1, Y = 1 + 0.5 * max(0, 1) = 1.5 -> 0.25.
    # (2) s=[0,1], a=1: Q=1, terminal, Y = 0 -> 1.  Mean 0.625.
    part = transitions([[1, 0], [0, 1]], [0, 1], [1, 0], [1, 0], [[0, 1], [1, 0]], [0, 1])
    split = Split(train=part, valid=part, gamma=0.5, num_actions=2)
    result = td.td_criterion(identity_candidate(), split)
    assert result.score == pytest.approx(0.625)
    assert not result.higher_is_better and result.value is None


def _linear_split(rng, noise):
    """Targets of Q(s) = s are Y = r + 0.5 max(s'); rewards make E[Y | s, a] linear."""
    data = random_transitions(rng, episodes=40, length=10)
    f = np.where(data.action == 0, 1.0 + data.observation[:, 0], -data.observation[:, 1])
    y_clean = f  # What E[Y | s, a] should be: r = f - 0.5 max(s') + noise.
    reward = y_clean - 0.5 * data.next_observation.max(-1) + noise * rng.normal(size=data.size)
    data = data._replace(reward=reward.astype(np.float32))
    return split_by_episode(data, gamma=0.5, num_actions=2, rng=rng, valid_fraction=0.5)


def test_sbv_equals_td_error_when_targets_are_deterministic_and_linear():
    split = _linear_split(np.random.default_rng(0), noise=0.0)
    config = sbv.SBVConfig(degrees=(1,), alphas=(1e-6,), network=None)
    got = sbv.sbv_criterion(identity_candidate(), split, config)
    want = td.td_criterion(identity_candidate(), split)
    assert got.score == pytest.approx(want.score, rel=1e-4)
    assert got.details["family"] == "ridge_deg1_alpha1e-06"


def test_sbv_removes_the_target_variance_that_biases_td_error():
    # Noise of variance 4 in Y: TD error carries it, SBV does not (Zitovsky et al. eq. 4-5).
    split = _linear_split(np.random.default_rng(1), noise=2.0)
    cand = identity_candidate()
    q_sa = cand.q_values(split.valid.observation)[np.arange(split.valid.size),
                                                    split.valid.action]
    obs = split.valid.observation
    mean_y = np.where(split.valid.action == 0, 1 + obs[:, 0], -obs[:, 1])
    true_msbe = np.mean((q_sa - mean_y) ** 2)
    config = sbv.SBVConfig(degrees=(1, 2), alphas=(1e-3, 1.0), network=None)
    assert sbv.sbv_criterion(cand, split, config).score == pytest.approx(true_msbe, rel=0.2)
    assert td.td_criterion(cand, split).score == pytest.approx(true_msbe + 4.0, rel=0.2)


def test_sbv_chooses_the_family_with_the_lowest_validation_mse():
    split = _linear_split(np.random.default_rng(2), noise=0.0)
    config = sbv.SBVConfig(degrees=(1,), alphas=(1e-6, 1e6), network=None)
    assert sbv.sbv_criterion(identity_candidate(), split, config).details["family"] == (
        "ridge_deg1_alpha1e-06")


def test_sbv_bellman_network_family_runs_and_pool_matches_single():
    split = _linear_split(np.random.default_rng(3), noise=0.0)
    config = sbv.SBVConfig(degrees=(1,), alphas=(1.0,),
                           network=sbv.bn.BellmanNetworkConfig(steps=50, hidden=(8,)))
    cands = [identity_candidate("a"), Candidate(name="b", num_actions=2, observation_shape=(2,),
                                                q=lambda o: 2.0 * o)]
    pooled = sbv.sbv_pool(cands, split, config)
    single = sbv.sbv_criterion(cands[1], split, config)
    assert all(math.isfinite(r.score) for r in pooled)
    assert pooled[1].score == pytest.approx(single.score, rel=1e-3)


def test_fqe_of_a_constant_reward_is_its_geometric_sum():
    # Reward 1 forever, gamma 0.5: V = 1 / (1 - 0.5) = 2 whatever the policy.
    rng = np.random.default_rng(0)
    data = random_transitions(rng, episodes=6, length=4)
    data = data._replace(reward=np.ones(data.size, np.float32))
    split = Split(train=data, valid=data, gamma=0.5, num_actions=2)
    got = fqe.fqe_criterion(identity_candidate(), split,
                            fqe.FQEConfig(degree=1, alpha=1e-6, iterations=60))
    assert got.value == pytest.approx(2.0, abs=1e-3) and got.higher_is_better


def test_fqe_with_terminal_first_step_is_the_reward_of_the_policy_action():
    # One-step episodes: Q(s, a) = r(a) = a; the identity candidate picks argmax(s).
    obs = [[1, 0], [0, 1], [2, 0], [0, 3], [1, 1], [3, 1]] * 2
    act = [0, 1, 1, 0, 0, 1] * 2
    data = transitions(obs, act, act, np.zeros(12), obs, np.arange(12))
    split = Split(train=data, valid=data, gamma=0.9, num_actions=2)
    got = fqe.fqe_criterion(identity_candidate(), split,
                            fqe.FQEConfig(degree=1, alpha=1e-4, iterations=3))
    # Greedy actions at the initial states: 0, 1, 0, 1, 0 (tie), 0 -> rewards 0, 1, 0, 1,
    # 0, 0.
    assert got.value == pytest.approx(1 / 3, abs=1e-3)


def test_wis_by_hand():
    rewards = np.array([[1.0, 1.0], [0.0, 2.0]])
    mask = np.ones((2, 2), bool)
    assert ope.wis(np.ones((2, 2)), rewards, mask, 0.5) == pytest.approx(1.25)
    # Weights 2 and 0.5, returns 1.5 and 1.0: (3 + 0.5) / 2.5.
    ratios = np.array([[2.0, 1.0], [0.5, 1.0]])
    assert ope.wis(ratios, rewards, mask, 0.5) == pytest.approx(1.4)
    # Padding is ignored: episode 2 has one step.
    mask2 = np.array([[True, True], [True, False]])
    assert ope.wis(np.ones((2, 2)), rewards, mask2, 0.5) == pytest.approx(0.75)


def test_per_decision_dr_by_hand():
    rewards = np.array([[1.0, 1.0], [0.0, 2.0]])
    ratios = np.array([[2.0, 1.0], [0.5, 1.0]])
    zeros, mask = np.zeros((2, 2)), np.ones((2, 2), bool)
    # No model: per-decision IS, (2 + 0.5 * 2) and (0 + 0.5 * 0.5 * 2), mean 1.75.
    assert ope.per_decision_dr(ratios, rewards, zeros, zeros, mask, 0.5) == pytest.approx(1.75)
    # One step, ratio 1: r - Q(s, a) + V(s) = 1 - 3 + 5.
    one = np.ones((1, 1))
    assert ope.per_decision_dr(one, one, 3 * one, 5 * one, one > 0, 0.9) == pytest.approx(3.0)


def test_wis_and_dr_criteria_on_data_from_the_evaluated_policy():
    # Behaviour uniform and policy epsilon = 1 (uniform): ratios ~ 1, WIS ~ mean return.
    rng = np.random.default_rng(4)
    data = random_transitions(rng, episodes=40, length=3)
    split = split_by_episode(data, gamma=0.9, num_actions=2, rng=rng, valid_fraction=0.5)
    config = ope.OPEConfig(epsilon=1.0, fqe=fqe.FQEConfig(degree=1))
    ep = ope.whole_episodes(split.valid)
    returns = np.sum(np.where(ep.mask, split.valid.reward[ep.index], 0) * 0.9 ** np.arange(3), 1)
    got = ope.wis_criterion(identity_candidate(), split, config)
    assert got.value == pytest.approx(returns.mean(), abs=0.15)
    assert math.isfinite(ope.dr_criterion(identity_candidate(), split, config).value)


def test_ope_needs_a_whole_episode():
    data = transitions([[0, 0]], [0], [1], [1], [[0, 0]], [0], step=[3])
    split = Split(train=data, valid=data, gamma=0.9, num_actions=2)
    with pytest.raises(ConfigError, match="whole episode"):
        ope.wis_criterion(identity_candidate(), split)


def test_representation_criteria_use_the_probes():
    feats = np.zeros((4, 3))
    feats[0, 0], feats[1, 1] = 199.0, 1.0  # sigma = (199, 1, 0): 99.5% in the first.
    acts = (np.array([[1.0, 0.0]] * 4),)  # second unit never fires
    cand = identity_candidate(features=lambda o: (feats, acts))
    data = random_transitions(np.random.default_rng(0), episodes=2, length=2)
    split = Split(train=data, valid=data, gamma=0.9, num_actions=2)
    assert representation.srank_criterion(cand, split).score == 1  # not 0, not 2
    assert representation.srank_criterion(cand, split, delta=0.001).score == 2
    assert representation.erank_criterion(cand, split).score == pytest.approx(
        math.exp(-(0.995 * math.log(0.995) + 0.005 * math.log(0.005))), rel=1e-4)
    assert representation.dormant_criterion(cand, split).score == pytest.approx(0.5)


def test_incompatible_candidates_are_refused():
    data = random_transitions(np.random.default_rng(0), episodes=4, length=2)
    split = Split(train=data, valid=data, gamma=0.9, num_actions=2)
    wrong_obs = Candidate(name="obs", num_actions=2, observation_shape=(3,), q=lambda o: o)
    with pytest.raises(IncompatibleError, match="observation shape"):
        score_pool([wrong_obs], split, ["td"])
    wrong_actions = Candidate(name="act", num_actions=3, observation_shape=(2,),
                              q=lambda o: np.zeros((len(o), 3)))
    with pytest.raises(IncompatibleError, match="3 actions"):
        score_pool([wrong_actions], split, ["td"])
    lying = Candidate(name="lie", num_actions=2, observation_shape=(2,),
                      q=lambda o: np.zeros((len(o), 5)))
    with pytest.raises(IncompatibleError, match="q returns"):
        score_pool([lying], split, ["td"])


def test_too_few_episodes_for_validation_names_the_minimum():
    data = random_transitions(np.random.default_rng(0), episodes=4, length=2)
    with pytest.raises(ConfigError, match="at least 2 validation episodes"):
        split_by_episode(data, gamma=0.9, num_actions=2, rng=np.random.default_rng(0),
                         valid_fraction=0.2)


def test_split_keeps_episodes_whole():
    data = random_transitions(np.random.default_rng(0), episodes=10, length=3)
    split = split_by_episode(data, gamma=0.9, num_actions=2, rng=np.random.default_rng(1))
    assert not set(split.train.episode_id) & set(split.valid.episode_id)
    assert split.train.size + split.valid.size == data.size
    assert len(set(split.valid.episode_id)) == 2


def test_non_finite_scores_are_reported_not_ranked():
    data = random_transitions(np.random.default_rng(0), episodes=4, length=2)
    split = Split(train=data, valid=data, gamma=0.9, num_actions=2)
    nan = Candidate(name="nan", num_actions=2, observation_shape=(2,),
                    q=lambda o: np.full((len(o), 2), np.nan))
    out = score_pool([identity_candidate("ok"), nan], split, ["td", "srank"])
    ranking = rank_scores(out["td"])
    assert ranking.nan_candidates == ("nan",) and ranking.order == ("ok",)
    # A criterion that does not apply (no features) is NaN with its reason, not an error.
    assert "features" in out["srank"]["ok"].details["error"]
    assert rank_scores(out["srank"]).nan_candidates == ("ok", "nan")


def test_rank_scores_respects_the_direction():
    lower = {n: CriterionResult(criterion="td", score=s, higher_is_better=False)
             for n, s in [("a", 3.0), ("b", 1.0), ("c", 2.0)]}
    assert rank_scores(lower).order == ("b", "c", "a")
    higher = {n: dataclasses.replace(r, higher_is_better=True) for n, r in lower.items()}
    assert rank_scores(higher).ranks == {"a": 1, "c": 2, "b": 3}


def test_unknown_criterion():
    with pytest.raises(UnknownNameError, match="known: td"):
        criteria.get("nope")


def test_pooled_fqe_fits_match_single_fits():
    rng = np.random.default_rng(5)
    data = random_transitions(rng, episodes=10, length=4)
    split = Split(train=data, valid=data, gamma=0.8, num_actions=2)
    cands = [identity_candidate("a"),
             Candidate(name="b", num_actions=2, observation_shape=(2,), q=lambda o: -o)]
    config = fqe.FQEConfig(degree=2, alpha=1.0, iterations=10)
    pooled = fqe.fit_fqe_pool(cands, split, config)
    for c, fit in zip(cands, pooled, strict=True):
        single = fqe.fqe_criterion(c, split, config)
        assert fqe.fqe_criterion(c, split, config, fit).value == pytest.approx(single.value,
                                                                               rel=1e-4)


def test_pooled_fqe_fits_in_chunks_match_one_call():
    # max_bytes=1: one candidate per vmapped call (the (chunk, N, P) intermediate of a
    # 1M-transition MinAtar pool does not fit in memory at once).
    rng = np.random.default_rng(6)
    data = random_transitions(rng, episodes=10, length=4)
    split = Split(train=data, valid=data, gamma=0.8, num_actions=2)
    cands = [identity_candidate("a"),
             Candidate(name="b", num_actions=2, observation_shape=(2,), q=lambda o: -o),
             Candidate(name="c", num_actions=2, observation_shape=(2,), q=lambda o: o[:, ::-1])]
    config = fqe.FQEConfig(degree=2, alpha=1.0, iterations=10)
    whole = fqe.fit_fqe_pool(cands, split, config)
    chunked = fqe.fit_fqe_pool(cands, split, config, max_bytes=1)
    assert len(chunked) == 3
    for w, c in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(c.weights, w.weights, rtol=1e-5, atol=1e-6)

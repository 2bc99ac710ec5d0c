"""Greedy checkpoint selection on held-out seeds (what the v2 expert rebuild will use)."""

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import protocols
from rl_unplugged.evaluation.evaluator import run_episodes
from rl_unplugged.generation import (
    best_checkpoint_greedy,
    generate,
    greedy_policy,
    greedy_returns,
    load_checkpoint,
    selection_seeds,
)
from tests.generation.helpers import tiny_spec, tiny_task


def test_selection_seeds_are_held_out_from_every_protocols_evaluation_seeds():
    for task_id in registry.TASKS:
        held_out = selection_seeds(task_id, 200)
        assert held_out == selection_seeds(task_id, 200)  # A pure function.
        assert len(set(held_out)) == 200 and all(0 <= s < 2**31 for s in held_out)
        assert not set(held_out) & set(protocols.episode_seeds(task_id))
    with pytest.raises(ValueError, match="num_episodes"):
        selection_seeds("bsuite/catch", 0)


def test_greedy_returns_match_the_evaluator_on_the_same_seeds(tmp_path):
    log = generate(tiny_spec(), tmp_path)
    _, params, _ = load_checkpoint(log.directory, -1)
    task = tiny_task()
    policy = greedy_policy(task, params, task.behaviour.hidden)
    seeds = selection_seeds(task.id, 7)
    expected = run_episodes(policy, task, seeds, num_envs=3).returns
    np.testing.assert_array_equal(greedy_returns(task, policy, seeds), expected)


def test_best_checkpoint_greedy_picks_the_highest_greedy_mean(tmp_path):
    log = generate(tiny_spec(), tmp_path)
    task = tiny_task()
    best, means = best_checkpoint_greedy(log.directory, task, num_episodes=6)
    indices = [c["index"] for c in log.manifest["checkpoints"]]
    assert sorted(means) == sorted(indices) and len(indices) > 1
    seeds = selection_seeds(task.id, 6)
    for position, index in enumerate(sorted(indices)):
        _, params, _ = load_checkpoint(log.directory, position)
        policy = greedy_policy(task, params, task.behaviour.hidden)
        assert means[index] == run_episodes(policy, task, seeds).returns.mean()
    top = max(means.values())
    assert best == max(k for k, v in means.items() if v == top)  # Ties: the later one.


def test_best_checkpoint_greedy_needs_checkpoints(tmp_path):
    log = generate(tiny_spec("random", num_steps=100), tmp_path)
    with pytest.raises(IndexError, match="no behaviour checkpoints"):
        best_checkpoint_greedy(log.directory, tiny_task())

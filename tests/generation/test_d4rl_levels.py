"""The D4RL-style levels of continuous tasks: the checkpoint rules by hand, and tiny
expert, medium, medium_replay and medium_expert logs made from a 4-episode D4PG run."""

import numpy as np
import pytest

from rl_unplugged import generation, registry
from rl_unplugged.data import fields as F
from rl_unplugged.data.raw_log import MANIFEST
from rl_unplugged.errors import ConfigError
from rl_unplugged.generation import continuous, d4rl_levels
from rl_unplugged.specs import FIXED_POLICY_SIGMA, DatasetSpec
from tests.generation.test_continuous import _tiny


def _rule(monkeypatch, tmp_path, means):
    (tmp_path / MANIFEST).write_text("{}")
    monkeypatch.setattr(continuous, "best_checkpoint",
                        lambda log_dir, task: (None, dict(means)))
    d4rl_levels._means.cache_clear()
    return d4rl_levels.choose_checkpoints(tmp_path, registry.get_task("control/walker_stand"))


def test_expert_is_the_best_and_medium_the_closest_to_half_before_it(monkeypatch, tmp_path):
    # Expert 3 (1000); half is 500: 480 (checkpoint 1) is closer than 600 (2); the 500 of
    # checkpoint 4 comes after the expert and is not a medium candidate.
    chosen = _rule(monkeypatch, tmp_path, {0: 100.0, 1: 480.0, 2: 600.0, 3: 1000.0, 4: 500.0})
    assert (chosen["expert"], chosen["medium"]) == (3, 1)
    # Ties: the later expert, the earlier medium.
    chosen = _rule(monkeypatch, tmp_path, {0: 40.0, 1: 60.0, 2: 100.0, 3: 100.0})
    assert (chosen["expert"], chosen["medium"]) == (3, 0)
    with pytest.raises(ConfigError, match="defines no medium"):
        _rule(monkeypatch, tmp_path, {0: -5.0, 1: 0.0})


def test_the_medium_levels_are_continuous_only():
    task = registry.get_task("bsuite/catch")
    with pytest.raises(ValueError, match="continuous tasks only"):
        DatasetSpec(task=task, level="medium_replay", noise=0.0, run=0, num_steps=10)
    names = {d.config_name for d in registry.datasets("rlu_mujoco")}
    assert {"hopper_medium_run0", "hopper_medium_replay_run0", "hopper_medium_expert_run0",
            "hopper_expert_run0"} <= names
    medium_expert = registry.get_dataset("rlu_mujoco/hopper_medium_expert_run0")
    assert medium_expert.num_steps == 2 * medium_expert.task.behaviour.num_steps
    # medium_replay's size is a prefix of its run: num_steps caps it, nothing fills it.
    medium_replay = registry.get_dataset("rlu_mujoco/hopper_medium_replay_run0")
    assert (medium_replay.min_transitions, medium_expert.min_transitions) == \
        (1, medium_expert.num_steps)


def test_tiny_levels_are_made_from_the_replay_run_as_defined(tmp_path):
    d4rl_levels._means.cache_clear()
    spec = {level: _tiny(f"rlu_control/cartpole_swingup_{level}_run0", num_steps=12)
            for level in ("expert", "medium", "medium_replay", "medium_expert")}
    # The tiny medium_expert's sources are the tiny medium and expert (their task's size).
    spec["medium_expert"] = spec["medium_expert"].replace(num_steps=24)
    logs = {level: generation.generate(s, tmp_path) for level, s in spec.items()}
    replay = generation.generate(registry.expert_source(spec["expert"]), tmp_path)
    chosen = d4rl_levels.choose_checkpoints(replay.directory, spec["expert"].task)
    means = chosen["means"]
    assert chosen["expert"] == max(means, key=lambda k: (means[k], k))
    fixed = logs["medium"].manifest["generation"]["d4rl_level"]
    assert fixed["expert"] == chosen["expert"] and fixed["medium"] == chosen["medium"]
    assert fixed["sources"]["replay"]["dataset"] == replay.manifest["dataset"]

    sigma = FIXED_POLICY_SIGMA
    assert fixed["sigma"] == sigma == 0.1
    for level in ("expert", "medium"):
        episodes = list(logs[level].iter_episodes())
        assert sum(e.num_transitions for e in episodes) >= 12
        for e in episodes:
            assert e.metadata[F.CHECKPOINT] == chosen[level]
            noise_std = e.steps[F.ACTION_NOISE_STD][:-1]
            assert np.allclose(noise_std, sigma)
            actions, means_ = e.steps[F.ACTION][:-1], e.steps[F.MEAN_ACTION][:-1]
            assert np.all(np.abs(actions) <= 1.0) and not np.allclose(actions, means_)
    # The expert checkpoint's mean action is what the log's `mean_action` holds.
    agent, params, _ = continuous.load_checkpoint(
        replay.directory, sorted(means).index(chosen["expert"]))
    first = next(logs["expert"].iter_episodes())
    np.testing.assert_allclose(
        np.asarray(agent.act(params, first.steps[F.OBSERVATION][0])),
        first.steps[F.MEAN_ACTION][0], rtol=1e-6)

    # medium_replay: the run's episodes up to the medium checkpoint's save, unchanged.
    info = [c for c in replay.manifest["checkpoints"] if c["index"] == chosen["medium"]][0]
    copied = list(logs["medium_replay"].iter_episodes())
    source = [e for e in replay.iter_episodes()
              if e.metadata[F.EPISODE_ID] <= info["last_episode"]]
    assert len(copied) == len(source) == info["last_episode"] + 1
    for a, b in zip(copied, source, strict=True):
        assert a.metadata == b.metadata
        for key in b.steps:
            np.testing.assert_array_equal(a.steps[key], b.steps[key], err_msg=key)

    # medium_expert: medium's episodes then expert's, renumbered.
    mixed = list(logs["medium_expert"].iter_episodes())
    parts = list(logs["medium"].iter_episodes()) + list(logs["expert"].iter_episodes())
    assert [e.metadata[F.EPISODE_ID] for e in mixed] == list(range(len(parts)))
    for a, b in zip(mixed, parts, strict=True):
        assert a.metadata[F.CHECKPOINT] == b.metadata[F.CHECKPOINT]
        np.testing.assert_array_equal(a.steps[F.ACTION], b.steps[F.ACTION])
    assert logs["medium_expert"].num_transitions == (logs["medium"].num_transitions
                                                     + logs["expert"].num_transitions)


def test_a_fixed_level_is_a_pure_function_of_its_spec_and_resumes(tmp_path):
    d4rl_levels._means.cache_clear()
    spec = _tiny("rlu_control/cartpole_swingup_medium_run0", num_steps=9)
    whole = generation.generate(spec, tmp_path / "a", shard_transitions=3)
    calls = []

    def crash(n):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generation.generate(spec, tmp_path / "b", shard_transitions=3, progress=crash)
    again = generation.generate(spec, tmp_path / "b", shard_transitions=3)
    assert again.num_episodes == whole.num_episodes == 3
    for a, b in zip(whole.iter_episodes(), again.iter_episodes(), strict=True):
        for key in (F.ACTION, F.MEAN_ACTION, F.OBSERVATION, F.REWARD):
            np.testing.assert_array_equal(a.steps[key], b.steps[key], err_msg=key)


def test_a_short_medium_replay_log_is_complete_but_a_short_expert_log_is_not(tmp_path):
    from rl_unplugged.data import prepare
    from rl_unplugged.data.raw_log import CorruptLogError

    d4rl_levels._means.cache_clear()
    spec = _tiny("rlu_control/cartpole_swingup_medium_replay_run0", num_steps=12)
    log = generation.generate(spec, tmp_path)
    bigger = spec.replace(num_steps=log.num_transitions + 3)  # A cap it never reaches.
    assert prepare.ensure_raw_log(bigger, tmp_path).num_transitions == log.num_transitions
    expert = _tiny("rlu_control/cartpole_swingup_expert_run0", num_steps=12)
    made = generation.generate(expert, tmp_path).num_transitions
    with pytest.raises(CorruptLogError, match=f"needs {made + 3}"):
        prepare.ensure_raw_log(expert.replace(num_steps=made + 3), tmp_path)

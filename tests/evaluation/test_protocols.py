"""Frozen protocols: derived from the registry, complete, hashed, tamper-evident."""

import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import protocols as P


def test_frozen_file_equals_derivation_from_registry_and_references():
    frozen = P.all_protocols()
    derived = P.derive_protocols(P.load_references())
    assert list(frozen) == list(derived)
    for task_id in frozen:
        assert frozen[task_id] == derived[task_id], (
            f"{task_id}: registry or references changed; re-run `rlu protocols freeze` "
            "and bump PROTOCOL_VERSION if returns-deciding settings changed")


def test_every_task_has_a_complete_protocol():
    protocols = P.all_protocols()
    assert set(protocols) == {t.id for t in registry.tasks()}
    for task in registry.tasks():
        p = protocols[task.id]
        assert p.num_episodes == len(p.episode_seeds) == 100
        assert len(set(p.episode_seeds)) == 100
        assert all(0 <= s < 2**31 for s in p.episode_seeds)
        assert p.epsilon == 0.0 and p.frame_stack == 1
        env = p.content["environment"]
        assert env["sticky_action_prob"] == task.sticky_action_prob
        assert env["max_episode_steps"] == task.max_episode_steps
        assert p.datasets and all(registry.get_dataset(d).task == task for d in p.datasets)
        assert len(p.datasets) == len([d for d in registry.datasets() if d.task == task])
        random = p.references["random"]
        assert random["status"] == "measured" and isinstance(random["value"], float)
        expert = p.references["expert"]
        if expert["status"] == "measured":  # Measured with how (checkpoint, data digest).
            assert isinstance(expert["value"], float) and "checkpoint" in expert["how"]
            assert expert["value"] != random["value"]
        else:
            assert expert["value"] is None and expert["status"] == "pending"


def test_seeds_are_a_pure_function_of_the_task():
    assert P.episode_seeds("bsuite/catch", 5) == P.episode_seeds("bsuite/catch", 5)
    assert P.episode_seeds("bsuite/catch", 5) != P.episode_seeds("classic/cartpole", 5)
    assert P.episode_seeds("bsuite/catch", 3) == P.episode_seeds("bsuite/catch", 5)[:3]


def test_references_enter_the_hash_but_not_the_settings_hash():
    s = P.settings("classic/cartpole", num_episodes=3)
    a = P.make_protocol(s, {"random": {"value": 1.0}, "expert": {"value": 2.0}})
    b = P.make_protocol(s, {"random": {"value": 1.0}, "expert": {"value": 3.0}})
    assert a.settings_hash == b.settings_hash and a.hash != b.hash
    c = P.make_protocol(P.settings("classic/cartpole", num_episodes=4),
                        {"random": {"value": 1.0}, "expert": {"value": 2.0}})
    assert c.settings_hash != a.settings_hash
    assert a.hash == P.content_hash({**s, "references": a.references})


def test_tampered_protocol_is_refused():
    content = P.get_protocol("bsuite/catch").content
    content["evaluation"]["epsilon"] = 0.5
    with pytest.raises(ValueError, match="settings_hash"):
        P.Protocol(content)
    content = P.get_protocol("bsuite/catch").content
    content["references"]["random"]["value"] = 3.0
    with pytest.raises(ValueError, match="hash"):
        P.Protocol(content)


def test_unknown_task_lists_close_names():
    with pytest.raises(KeyError, match="bsuite/catch"):
        P.get_protocol("bsuite/catc")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        P.settings("bsuite/catch", num_episodes=0)
    with pytest.raises(ValueError):
        P.settings("bsuite/catch", epsilon=1.5)

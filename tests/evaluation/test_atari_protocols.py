"""Atari protocols: RL Unplugged's settings, its files as training data, published
random and human references (how they were obtained recorded with them)."""

import numpy as np
import pytest

from rl_unplugged import registry
from rl_unplugged.evaluation import atari_references as A
from rl_unplugged.evaluation import normalisation
from rl_unplugged.evaluation import protocols as P


def test_atari_protocols_record_the_ale_settings_and_the_original_datasets():
    atari = registry.tasks("atari")
    assert len(atari) == 46
    for task in atari:
        p = P.get_protocol(task.id)
        env = p.content["environment"]
        assert env["atari"] == registry.ATARI_SETTINGS.as_dict()
        assert env["sticky_action_prob"] == env["atari"]["repeat_action_probability"] == 0.25
        assert env["max_episode_steps"] == 27_000 == env["atari"]["max_frames"] // 4
        assert env["observation"] == {"shape": [84, 84, 4], "dtype": "uint8"}
        assert env["atari"]["frame_stack"] == 4 and p.frame_stack == 1
        game = registry.atari_game(task)
        assert p.datasets == [f"rlu_atari/{game}_run_{n}" for n in range(1, 6)]
        assert "RL Unplugged's original files" in p.content["training_data"]["source"]
        p.check_datasets([f"rlu_atari/{game}_run_3"])
        with pytest.raises(P.ProtocolViolation, match="not allowed"):
            p.check_datasets([f"rlu_atari/{game}_run_6"])


def test_settings_of_the_tasks_built_here_carry_no_atari_section():
    # What keeps their published hashes: the Atari keys are added for Atari tasks only.
    s = P.settings("minatar/breakout")
    assert "atari" not in s["environment"] and set(s["training_data"]) == {"datasets"}


def test_references_are_the_published_scores_with_their_provenance():
    pong = P.get_protocol("atari/pong").references
    assert pong["random"]["value"] == -20.7 and pong["expert"]["value"] == 14.6
    for record in pong.values():
        assert record["status"] == "published" and "dqn_zoo" in record["source"]
        assert "not measured under this protocol" in record["how"]
    assert pong["expert"]["kind"] == "human"
    assert P.get_protocol("atari/ms_pacman").references["expert"]["value"] == 6951.6
    # Human-normalised: random -> 0, human -> 1.
    np.testing.assert_allclose(normalisation.normalise([-20.7, 14.6, -3.05],
                                                       P.get_protocol("atari/pong")),
                               [0.0, 1.0, 0.5])
    for task in registry.tasks("atari"):
        assert P.get_protocol(task.id).references == A.published_references(task.id)


@pytest.mark.parametrize("task_id", ["atari/carnival", "atari/pooyan"])
def test_games_outside_atari57_have_no_reference_and_refuse_normalisation(task_id):
    refs = P.get_protocol(task_id).references
    assert refs["random"]["status"] == refs["expert"]["status"] == "unavailable"
    with pytest.raises(normalisation.MissingReferenceError, match="unavailable"):
        normalisation.normalise([0.0], P.get_protocol(task_id))


def test_published_references_refuse_other_tasks():
    with pytest.raises(ValueError, match="not an Atari task"):
        A.published_references("bsuite/catch")


def test_published_references_are_recorded_beside_the_measured_ones(tmp_path):
    path = tmp_path / "references.json"
    path.write_text('{"format": "rl_unplugged normalisation references", "tasks": '
                    '{"bsuite/catch": {"random": {"value": 0.5}}}}')
    doc = A.record_published_references(path)
    assert doc["tasks"]["bsuite/catch"] == {"random": {"value": 0.5}}
    assert doc["tasks"]["atari/pong"] == A.published_references("atari/pong")
    assert P.load_references(path) == doc
    assert A.record_published_references(tmp_path / "new.json")["tasks"].keys() == {
        t.id for t in registry.tasks("atari")}
    with pytest.raises(KeyError, match="atari/alien; run `python -m "
                       "rl_unplugged.evaluation.atari_references`"):
        P.derive_protocols({"tasks": {t.id: {} for t in registry.tasks()
                                      if t.id != "atari/alien"}})

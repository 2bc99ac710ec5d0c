"""Committed dataset cards equal the cards rendered from the registry."""

from pathlib import Path

import pytest

import rl_unplugged
from rl_unplugged import cards, registry

REPO = Path(rl_unplugged.__file__).parents[1]


@pytest.mark.parametrize("domain", registry.domains())
def test_committed_cards_are_current(domain):
    committed = (REPO / "datasets" / f"rlu_{domain}.md").read_text()
    assert committed == cards.render_card(domain), \
        "regenerate with `python -m rl_unplugged.cards datasets`"


def test_card_lists_every_task_and_the_recorded_checksums(tmp_path, monkeypatch):
    from rl_unplugged.data import reference_builds

    text = cards.render_card("bsuite")
    for task in registry.tasks("bsuite"):
        assert f"| {task.name} | `{task.env_id}` |" in text
    assert "72 configs" in text
    for name, build in reference_builds.load().items():  # Only measured digests appear.
        if name.startswith("rlu_bsuite/"):
            assert f"| `{name}` | `{build['manifest_sha256']}` |" in text
    # Each row names the machine the build was recorded on, where one was.
    name = "rlu_bsuite/catch_noise0_run0"
    here = dict(reference_builds.host(), cpu="Some CPU", machine="x86_64",
                kernel_features=["sse2", "avx", "fma", "avx2"], jaxlib="9.9")
    builds = {name: dict(reference_builds.load()[name], recorded_on=here)}
    monkeypatch.setattr(reference_builds, "load", lambda: builds)
    assert "| Some CPU (x86_64, AVX2), jaxlib 9.9 |" in cards.render_card("bsuite")
    del builds[name]["recorded_on"]
    assert "| not recorded |" in cards.render_card("bsuite")
    monkeypatch.setattr(reference_builds, "load", dict)
    assert "No reference build recorded yet" in cards.render_card("bsuite")
    assert len(cards.write_cards(tmp_path)) == len(registry.domains())


def test_card_title_summary_and_citation_come_from_the_registry(monkeypatch):
    import dataclasses

    domain = registry.get_domain("minatar")
    changed = dataclasses.replace(domain, title="Mini Atari", summary="five tiny games",
                                  citation="Someone, *A Paper*, 2099.")
    monkeypatch.setitem(registry.DOMAINS, "minatar", changed)
    text = cards.render_card("minatar")
    assert text.startswith("# `rlu_minatar`: Mini Atari datasets")
    assert "RLDS datasets of five tiny games, generated" in text
    assert "- Someone, *A Paper*, 2099." in text and domain.citation not in text


def test_card_shows_the_known_maximum_return():
    text = cards.render_card("classic")
    assert "| max return |" in text
    assert "| 500 | gymnasium CartPole-v1 |" in text  # Known: +1 per step, 500 steps.
    assert "| unknown | gymnasium Acrobot-v1 |" in text  # Only a bound (0) is known.
    assert "| 1 | bsuite catch" in cards.render_card("bsuite")


def test_a_domain_without_built_datasets_gets_a_card_saying_where_its_data_come_from():
    text = cards.render_card("atari")
    assert text.startswith("# `rlu_atari`: Atari (RL Unplugged)")
    assert "**No dataset is built here**" in text and "rlu-gcs:" in text
    for task in registry.tasks("atari"):
        assert f"| {task.name} | `{task.env_id}` |" in text
    assert "| pooyan | `ALE/Pooyan-v5` | tuning |" in text
    assert "| pong | `ALE/Pong-v5` | testing | (84, 84, 4) uint8 | 6 | 27,000 |" in text
    assert "| repeat_action_probability | `0.25` |" in text


def test_continuous_cards_describe_the_d4pg_levels_and_the_logged_noise():
    text = cards.render_card("control")
    assert "| cartpole_swingup | `cartpole/swingup` | (5,) float32 | continuous (1-d in " \
        "[-1.0, 1.0]) |" in text
    assert "mixture-of-Gaussians critic" in text and "double DQN" not in text
    assert "| steps/mean_action | float32 | (A,) |" in text
    assert "| steps/action | float32 | (A,) |" in text and "greedy_action" not in text
    assert "| walker_stand | [256, 256] | 0.0001 | 256 | 300,000 |" in text
    assert "| steps/greedy_action | int64 |" in cards.render_card("classic")


def test_a_task_below_its_target_says_why_or_that_it_is_not_explained(monkeypatch):
    import dataclasses

    from rl_unplugged.data import reference_builds

    text = cards.render_card("minatar")
    assert "Below target, and why:" in text
    assert "- **asterix**: the budget." in text and "reaches 16.91 greedy" in text
    assert "- **seaquest**: the budget." in text and "- **breakout**" not in text
    assert "Below target" not in cards.render_card("bsuite")  # Every bsuite run reached.
    # Every task whose recorded run misses its target has its reason in the registry.
    for name, build in reference_builds.load().items():
        if (build.get("competence") or {}).get("reached") is False:
            task = registry.get_dataset(name).task
            assert task.competence.shortfall, f"{task.id}: below target, no shortfall"
    # A miss without a recorded reason is said to be unexplained, never left silent.
    asterix = registry.get_task("minatar/asterix")
    bare = dataclasses.replace(asterix, competence=dataclasses.replace(asterix.competence,
                                                                       shortfall=""))
    monkeypatch.setattr(registry, "tasks", lambda domain: [bare])
    assert "- **asterix**: **not explained yet**" in cards.render_card("minatar")

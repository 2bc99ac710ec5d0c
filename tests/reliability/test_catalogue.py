"""The catalogue is whole and RELIABILITY.md says what it holds (the doc cannot drift)."""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest

from tests.reliability import catalogue

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = REPO / "RELIABILITY.md"
# Parametrized tests: the module-level table of implementations keyed by case id.
IMPLEMENTATIONS = {
    "tests/reliability/test_stored_data.py::test_store_fault": "STORE_FAULTS",
    "tests/reliability/test_stored_data.py::test_raw_log_fault": "RAW_FAULTS",
    "tests/reliability/test_stored_data.py::test_resume_state_fault": "RESUME_FAULTS",
    "tests/reliability/test_runs.py::test_run_fault": "RUN_FAULTS",
    "tests/reliability/test_environment.py::test_environment_fault": "ENV_FAULTS",
    "tests/reliability/test_inputs.py::test_bad_input": "INPUTS",
    "tests/leaderboard/test_fuzz.py::test_named_numeric_bounds": "NAMED_BOUNDS",
}
# Cases a test handles itself rather than through its table.
HANDLED_INLINE = {"checkpoint-flip-resume"}


def test_cases_are_unique_and_well_formed():
    ids = [c.id for c in catalogue.CASES]
    assert len(ids) == len(set(ids))
    for c in catalogue.CASES:
        assert c.group in catalogue.GROUPS and c.outcome in catalogue.OUTCOMES, c
        assert re.fullmatch(r"[a-z0-9-]+", c.id), c


@pytest.mark.parametrize("test", sorted({c.test for c in catalogue.CASES}))
def test_every_case_names_a_test_that_exists(test):
    path, function = test.split("::")
    assert re.search(rf"^def {function}\(", (REPO / path).read_text(), re.M), test
    if test in IMPLEMENTATIONS:  # Parametrized from the catalogue: one entry per case.
        module = importlib.import_module(path[:-3].replace("/", "."))
        table = set(getattr(module, IMPLEMENTATIONS[test]))
        assert table | HANDLED_INLINE >= {c.id for c in catalogue.cases(test)}
        assert table <= {c.id for c in catalogue.cases(test)}
    else:
        assert len(catalogue.cases(test)) == 1, test


def test_counts_add_up():
    counts = catalogue.counts()
    total = counts.pop("total")
    assert total["tried"] == len(catalogue.CASES) == sum(n["tried"] for n in counts.values())
    assert total["tried"] == sum(total[o] for o in catalogue.OUTCOMES)


def test_reliability_md_carries_the_catalogue_tables():
    text = DOC.read_text()
    assert catalogue.summary_table() in text, "regenerate RELIABILITY.md's summary table"
    assert catalogue.case_table() in text, "regenerate RELIABILITY.md's case table"
    total = catalogue.counts()["total"]
    assert f"{total['tried']} faults" in text  # The sentence under the title.

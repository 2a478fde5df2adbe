"""The shipped policy library: every suite case passes and every rule is covered both ways."""

from __future__ import annotations

import pytest

from tests.unit.owasp.library import all_rules, load, run_suites


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return load()


def test_every_case_passes(engine) -> None:  # type: ignore[no-untyped-def]
    report = run_suites(engine)
    assert report.cases > 0
    assert report.failures == []


def test_every_rule_matches_and_misses_somewhere(engine) -> None:  # type: ignore[no-untyped-def]
    report = run_suites(engine)
    assert report.uncovered(all_rules(engine)) == []


def test_one_policy_file_per_owasp_item() -> None:
    from tests.unit.owasp.library import POLICIES

    names = sorted(p.name.split("-")[0] for p in (POLICIES / "owasp").glob("llm*.yaml"))
    assert names == [f"llm{i:02d}" for i in range(1, 11)]
    for p in (POLICIES / "owasp").glob("llm*.yaml"):
        assert (POLICIES / "owasp" / "tests" / p.name).is_file(), p.name

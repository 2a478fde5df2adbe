"""The shipped policy library: every suite case passes and every rule is covered both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate.engine.testing import SuiteReport, run_suites

POLICIES = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="module")
def report() -> SuiteReport:
    return run_suites(celgate.load(POLICIES))


def test_every_case_passes(report: SuiteReport) -> None:
    assert report.results
    assert [str(f) for f in report.failures] == []


def test_no_rule_errors_where_a_case_did_not_expect_it(report: SuiteReport) -> None:
    assert report.errors == []


def test_every_rule_matches_and_misses_somewhere(report: SuiteReport) -> None:
    assert report.uncovered() == []
    assert report.never_unmatched() == []


def test_one_policy_file_per_owasp_item() -> None:
    names = sorted(p.name.split("-")[0] for p in (POLICIES / "owasp").glob("llm*.yaml"))
    assert names == [f"llm{i:02d}" for i in range(1, 11)]
    for p in (POLICIES / "owasp").glob("llm*.yaml"):
        assert (POLICIES / "owasp" / "tests" / p.name).is_file(), p.name

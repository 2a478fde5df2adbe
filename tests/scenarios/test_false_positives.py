"""False positives of the shipped policies on ordinary traffic, counted per control.

Enforced controls must stay quiet on ordinary input; a control that fires on more than 5 % of an
input kind must ship in audit mode (it then only reports). The table is printed with `-s`.
"""

from __future__ import annotations

import pytest

from tests.scenarios.false_positives import Counts, measure, table


@pytest.fixture(scope="module")
def counts() -> Counts:
    return measure()


def test_corpus_size(counts: Counts) -> None:
    assert counts.checks["prompt"] >= 100 and counts.checks["document"] >= 30 and counts.checks["response"] >= 20


def test_ordinary_traffic_is_rarely_stopped(counts: Counts) -> None:
    print("\n" + "\n".join(table(counts)))
    assert counts.blocked["prompt"] <= 2  # <= 2 % of ordinary prompts
    assert counts.blocked["document"] <= 2 and counts.blocked["tool_result"] <= 2  # of 30 each
    assert counts.blocked["response"] == 0


def test_no_enforced_control_is_noisy(counts: Counts) -> None:
    smallest = min(counts.checks.values())
    noisy = {k: n for k, n in counts.enforced.items() if n > 0.05 * smallest}
    assert noisy == {}


def test_noisy_controls_ship_in_audit_mode(counts: Counts) -> None:
    assert counts.audit["llm09-misinformation/reply-cites-no-document"] > 0  # noisy, and only reported
    assert counts.enforced["llm09-misinformation/reply-cites-no-document"] == 0

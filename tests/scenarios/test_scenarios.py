"""Adversarial agent sessions on the shipped policies: every attack is stopped or held for approval,
and the legitimate task completes."""

from __future__ import annotations

import pytest

from tests.scenarios.agents import ALL
from tests.scenarios.harness import Tally, shipped_engine


@pytest.fixture(scope="module")
def tally() -> Tally:
    engine = shipped_engine()
    t = Tally()
    for play in ALL:
        t.add(play(engine))
    return t


def test_every_attack_is_stopped(tally: Tally) -> None:
    print("\n" + "\n".join(tally.lines()))
    assert tally.attacks and all(tally.attacks.values()), tally.lines()


def test_the_legitimate_tasks_complete(tally: Tally) -> None:
    assert tally.legit_denied == []
    assert tally.legit_passed >= 20

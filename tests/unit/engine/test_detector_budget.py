"""`detectors.budget_ms` in celgate.yaml: validated with the other detector settings, and the time
budget each decision's detector calls get (past it, the next call errors and its rule fails closed)."""

from __future__ import annotations

import random

import pytest

import celgate
from celgate.engine import PolicyLoadError
from tests.unit.engine.conftest import policy

SCAN_TWO = policy(
    "pii-scan",
    "[prompt]",
    """\
    - name: too-much-pii
      effect: deny
      when: messages[0].content.pii().size() > 100000 || messages[1].content.pii().size() > 100000
    """,
)


def config(budget: object) -> str:
    return f"apiVersion: celgate/v1\nkind: Config\ndetectors:\n  budget_ms: {budget}\n"


def two_long_texts() -> dict:
    """Two texts of 1,000 e-mail addresses (~8 ms of pii() each here), fresh each time: the engine
    keeps detector results across decisions."""
    rng = random.Random()
    texts = [" ".join(f"u{rng.randrange(10**9)}@ex{rng.randrange(999)}.com" for _ in range(1_000)) for _ in range(2)]
    return {"action": "prompt", "messages": [{"role": "user", "content": t} for t in texts]}


def test_the_budget_reaches_the_engine(make_repo) -> None:
    """1 ms: the first scan spends it, so the second call errors and the deny rule fails closed;
    with 250 ms (the default) the same request is allowed."""
    tight = celgate.load(make_repo({"celgate.yaml": config(1), "p.yaml": SCAN_TWO}))
    decision = tight.check(two_long_texts(), explain=True)
    assert decision.effect == "deny" and decision.failed_closed
    assert "detector budget of 1 ms" in decision.message
    roomy = celgate.load(make_repo({"celgate.yaml": config(250), "p.yaml": SCAN_TWO}))
    assert roomy.check(two_long_texts()).effect == "allow"


@pytest.mark.parametrize("bad", ["0", "-5", "10001", "1e9", ".nan", ".inf", "fast", "true", "[250]"])
def test_a_bad_budget_is_refused_at_load(make_repo, bad: str) -> None:
    with pytest.raises(PolicyLoadError) as info:
        celgate.load(make_repo({"celgate.yaml": config(bad), "p.yaml": SCAN_TWO}))
    text = str(info.value)
    assert "detectors.budget_ms" in text and "celgate.yaml" in text


def test_a_fractional_budget_is_accepted(make_repo) -> None:
    engine = celgate.load(make_repo({"celgate.yaml": config(12.5), "p.yaml": SCAN_TWO}))
    assert engine.check({"action": "prompt", "messages": [{"role": "user", "content": "a"}] * 2}).effect == "allow"

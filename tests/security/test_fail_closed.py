"""Any error while deciding is a decision (deny with a reason), never an exception or a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate.engine import InvalidRequest, PolicyLoadError
from celgate.engine.request import MAX_LIST_ITEMS
from tests.unit.engine.conftest import policy

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def prompt(n: int, text: str = "a") -> dict:
    return {
        "action": "prompt",
        "principal": {"id": "u1", "tenant": "t1"},
        "messages": [{"role": "user", "content": text} for _ in range(n)],
    }


def test_shipped_library_decides_a_prompt_of_many_short_messages() -> None:
    """1,667 one-character messages made the shipped library's fused program exceed CEL's iteration
    budget and the error escaped as an exception (HTTP 500, gRPC UNKNOWN)."""
    engine = celgate.load(POLICIES)
    decision = engine.check(prompt(1667))
    # A decision, and the library's own turn limit is among its reasons (on a loaded machine the
    # decision's time budget may also fail other deny rules closed; either way, a deny).
    assert decision.effect == "deny"
    assert "conversation-too-long" in [r.rule for r in decision.reasons], decision.reasons
    explained = engine.check(prompt(1667), explain=True)
    assert explained.effect == "deny"
    assert "conversation-too-long" in [r.rule for r in explained.reasons]


def test_a_request_longer_than_any_loop_can_visit_is_invalid() -> None:
    """Lists built in CEL loops cost quadratic time (10,000 messages: seconds per expression), so
    a request's lists are bounded: past the bound it is invalid input, not a stalled worker."""
    engine = celgate.load(POLICIES)
    with pytest.raises(InvalidRequest) as info:
        engine.check(prompt(MAX_LIST_ITEMS + 1))
    assert info.value.field == "messages"
    assert engine.check(prompt(MAX_LIST_ITEMS)).effect == "deny"  # the library's own turn limit


NESTED = policy(
    "dupes",
    "[prompt]",
    """\
    - name: repeated-turn
      effect: deny
      when: messages.exists(m, messages.exists(n, n.content == m.content + "!"))
    """,
)


def test_a_rule_that_exceeds_the_budget_on_ordinary_input_is_rejected_at_compile_time(make_repo) -> None:
    """A nested comprehension over the conversation broke at 100 messages; such a revision is
    rejected when it is compiled, pointing at the rule's file and line."""
    with pytest.raises(PolicyLoadError) as info:
        celgate.load(make_repo({"dupes.yaml": NESTED}), backend="cpp")
    error = info.value.errors[0]
    assert error.file.endswith("dupes.yaml") and error.line == 8, error
    assert "budget" in error.message and "repeated-turn" in error.message


SINGLE = policy(
    "long",
    "[prompt]",
    """\
    - name: shouting
      effect: deny
      when: messages.exists(m, m.content.split(" ").exists(w, w == "STOP"))
    - name: polite
      effect: allow
      when: messages.all(m, m.content != "rude")
    """,
)


def test_budget_errors_fail_closed_for_deny_rules(make_repo) -> None:
    """The C++ runtime's iteration budget (cel-python has none, and no `split`)."""
    engine = celgate.load(make_repo({"long.yaml": SINGLE}), backend="cpp")
    assert engine.check(prompt(50)).effect == "allow"
    # 2,000 messages of six words: 12,000 steps of the inner loop, over the 10,000 budget.
    decision = engine.check(prompt(2000, "one two three four five six"))
    assert decision.effect == "deny"
    (reason,) = [r for r in decision.reasons if r.rule == "shouting"]
    assert decision.message == reason.message
    assert "failed closed" in reason.message and "budget" in reason.message


ALLOW_ONLY = policy(
    "words",
    "[tool_call]",
    """\
    - name: plain-words
      effect: allow
      when: messages.all(m, m.content.split(" ").all(w, w != "STOP"))
    """,
)


def test_an_allow_rule_over_the_budget_does_not_match(make_repo) -> None:
    engine = celgate.load(make_repo({"words.yaml": ALLOW_ONLY}), backend="cpp")
    ok = {"action": "tool_call", "tool": {"name": "x"}, "messages": [{"role": "user", "content": "hi there"}]}
    assert engine.check(ok).effect == "allow"
    big = dict(ok, messages=[{"role": "user", "content": "one two three four five six"}] * 2000)
    decision = engine.check(big, explain=True)
    assert decision.effect == "deny"  # the tool_call default: the allow rule errored, so it did not match
    assert [t.result for t in decision.explanation or ()] == ["error"]


def test_an_unexpected_engine_error_is_a_deny_with_a_reason(make_repo, monkeypatch) -> None:
    engine = celgate.load(make_repo({"long.yaml": SINGLE}), backend="cpp")

    def broken(*args: object) -> object:
        raise RuntimeError("simulated")

    monkeypatch.setattr(engine.bundle.backend, "activation", broken)
    decision = engine.check(prompt(1))
    assert decision.effect == "deny"
    assert [(r.policy, r.rule) for r in decision.reasons] == [("engine", "error")]
    assert "simulated" not in decision.reasons[0].message  # details go to the server log only
    assert decision.decision_id and decision.policy_revision == engine.revision


def test_an_evaluation_error_can_never_be_configured_to_allow(make_repo) -> None:
    """`on_error` may soften an erroring deny rule to a human's approval, never to allow: an
    attacker who can make a rule error (an odd type, a huge list) would take that path."""
    in_policy = {"long.yaml": SINGLE.replace("rules:\n", "on_error: allow\nrules:\n", 1)}
    in_config = {"long.yaml": SINGLE, "celgate.yaml": "apiVersion: celgate/v1\nkind: Config\non_error: allow\n"}
    for files in (in_policy, in_config):
        with pytest.raises(PolicyLoadError, match="on_error must be one of deny, require_approval"):
            celgate.load(make_repo(files), backend="cpp")
    held = celgate.load(make_repo({"long.yaml": SINGLE.replace("rules:\n", "on_error: require_approval\nrules:\n", 1)}))
    decision = held.check(prompt(2000, "one two three four five six"))  # over the iteration budget
    assert decision.effect == "require_approval" and decision.failed_closed

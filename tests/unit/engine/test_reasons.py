"""Every reason says what happened: the default is named, obligation rules have an effect and a message."""

from __future__ import annotations

import pytest

import celgate
from celgate.engine import InvalidRequest
from tests.unit.engine.conftest import policy

RULES = policy(
    "p",
    "[tool_call, response]",
    """\
    - name: search-ok
      effect: allow
      when: tool.name == "search"
    - name: mask
      redact: {detectors: [pii.email]}
    - name: tag
      labels: [seen]
      when: action == "response"
    """,
)


@pytest.fixture
def engine(make_repo):  # type: ignore[no-untyped-def]
    return celgate.load(make_repo({"p.yaml": RULES}))


def test_a_decision_from_the_default_names_the_default(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.check({"action": "tool_call", "tool": {"name": "other"}})
    assert d.effect == "deny"
    default = d.reasons[-1]
    assert (default.key, default.effect, default.enforced) == ("defaults/tool_call", "deny", True)
    assert "default for tool_call in celgate.yaml is deny" in default.message == d.message
    allowed = engine.check({"action": "tool_call", "tool": {"name": "search"}})
    assert "defaults/tool_call" not in allowed.matched_rules()  # a rule decided


def test_every_reason_has_an_effect_and_a_message(engine) -> None:  # type: ignore[no-untyped-def]
    d = engine.check({"action": "response", "response": {"content": "write to bob@example.com"}})
    assert d.rewritten == {"response.content": "write to [email]"}
    by_key = {r.key: r for r in d.reasons}
    assert set(by_key) == {"p/mask", "p/tag", "defaults/response"}
    assert all(r.effect and r.message for r in d.reasons)
    assert by_key["p/mask"].effect == "allow" and by_key["p/mask"].message.startswith("redacts pii.email in ")
    assert by_key["p/tag"].message == "labels the session seen"
    search = engine.check({"action": "tool_call", "tool": {"name": "search"}})
    assert [r.message for r in search.reasons if r.key == "p/search-ok"] == ["allow by p/search-ok"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [({"action": "tool_call"}, "tool"), ({"action": "tool_result", "tool": {"result": "x"}}, "tool.name")],
)
def test_a_tool_action_without_a_tool_is_invalid(engine, request_: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest) as e:
        engine.check(request_)
    assert e.value.field == field

"""Which data the engine binds per request: only what the policies can read, never less."""

from __future__ import annotations

import pytest

from celgate.engine.datapaths import keyed_maps, reachable, select_keyed
from celgate.v1 import decision_pb2 as pb

DATA = {
    "tools": {"search": {"risk": "low"}, "shell": {"risk": "high"}, "mail": {"risk": "high"}},
    "owasp": {"llm01": {"threshold": 0.8, "other": 1}, "llm02": {"x": 1}},
    "models": {"allowed": {"openai": ["gpt-4o"]}, "unused": True},
}


def test_reachable_follows_literal_paths_and_keeps_whole_subtrees_when_unclear() -> None:
    assert reachable(DATA, ["data.owasp.llm01.threshold > 0.5"]) == {"owasp": {"llm01": {"threshold": 0.8}}}
    assert reachable(DATA, ["data.tools[tool.name].risk == 'low'"]) == {"tools": DATA["tools"]}
    assert reachable(DATA, ["data.owasp.llm07.canaries.exists(c, true)"]) == {"owasp": DATA["owasp"]}
    assert reachable(DATA, ['"x" in data']) == DATA
    assert reachable(DATA, ["data['tools']"]) == DATA
    assert reachable(DATA, ["mydata.x", "x.data.y"]) == {}


@pytest.mark.parametrize(
    ("source", "keyed"),
    [
        ("tool.name in data.tools ? data.tools[tool.name] : {}", {"tools": {"tool"}}),
        ("!(tool.name in data.tools) || data.tools[tool.name].risk == 'low'", {"tools": {"tool"}}),
        ('tools.exists(t, t.name in data.tools && "pin" in data.tools[t.name])', {"tools": {"tools"}}),
        ('"data.tools.size() > 0" != "" && data.tools[tool.name].risk == "x"', {"tools": {"tool"}}),
        # Anything else keeps the whole map bound:
        ("data.tools.size() > 0", {}),
        ("tools.exists(tool, data.tools[tool.name].risk == 'x')", {}),  # `tool` shadowed
        ("messages.exists(t, data.tools[t.name].risk == 'x')", {}),  # t is not an offered tool
        ("tools.exists(t, messages.exists(t, t.name in data.tools))", {}),  # t bound twice
        ('"a" + tool.name in data.tools', {}),  # the key is not tool.name
        ("a == tool.name in data.tools", {}),
        ('data["tools"][tool.name]', {}),
        ("tool.name in data.tools.search", {}),
        ('data.tools[tool.name + "x"]', {}),
        ("model.name in data.models", {}),
    ],
)
def test_keyed_maps(source: str, keyed: dict[str, set[str]]) -> None:
    assert keyed_maps(DATA, [source]) == {k: frozenset(v) for k, v in keyed.items()}


def test_one_unkeyed_use_anywhere_keeps_the_map_whole() -> None:
    assert keyed_maps(DATA, ["data.tools[tool.name].risk == 'x'", "data.tools.size() > 1"]) == {}


def test_select_keyed_keeps_exactly_the_entries_the_request_names() -> None:
    static = {"tools": DATA["tools"], "owasp": DATA["owasp"]}
    keyed = {"tools": (DATA["tools"], frozenset({"tool", "tools"}))}
    request = pb.CheckRequest(
        tool=pb.ToolCall(name="shell"), tools=[pb.ToolCall(name="mail"), pb.ToolCall(name="nope")]
    )
    data = select_keyed(static, keyed, request)
    assert data == {"tools": {"shell": {"risk": "high"}, "mail": {"risk": "high"}}, "owasp": DATA["owasp"]}
    assert static["tools"] is DATA["tools"]  # the bundle's data is never modified

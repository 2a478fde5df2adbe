"""Content fields are defined once (engine/content.py): redaction, the decision log and checks agree."""

from __future__ import annotations

import pytest

from celgate.engine import content
from celgate.engine.actions import ACTIONS
from celgate.engine.request import parse_request

REQUEST = parse_request(
    {
        "action": "tool_call",
        "messages": [
            {"role": "user", "content": "mail bob@example.com"},
            {"role": "assistant", "tool_calls": [{"name": "send", "args": {"to": "bob@example.com", "n": 2}}]},
        ],
        "tool": {"name": "send", "args": {"to": "bob@example.com", "cc": ["a@b.io"], "opts": {"subject": "hi"}}},
    }
)


def test_every_text_walks_all_content_in_a_fixed_order() -> None:
    paths = [path for path, text in content.every_text(REQUEST) if text]
    assert paths == [
        "messages[0].content",
        "messages[1].tool_calls[0].args.to",
        "tool.args.cc[0]",
        "tool.args.opts.subject",
        "tool.args.to",
    ]


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        ("tool.args", ["tool.args.cc[0]", "tool.args.opts.subject", "tool.args.to"]),
        ("tool.args.*", ["tool.args.cc[0]", "tool.args.opts.subject", "tool.args.to"]),
        ("tool.args.to", ["tool.args.to"]),
        ("tool.args.missing", []),
        ("messages.content", ["messages[0].content", "messages[1].content"]),
        ("messages[0].content", ["messages[0].content"]),
        ("messages[9].content", []),
    ],
)
def test_a_spec_names_the_fields_redactions_use(spec: str, paths: list[str]) -> None:
    assert content.SPEC_RE.match(spec)
    assert [p for p, _ in content.texts(REQUEST, spec)] == paths
    assert "missing" not in REQUEST.tool.args.fields  # reading never adds a key


def test_defaults_are_specs_carried_by_their_action() -> None:
    for action in ACTIONS:
        for spec in content.DEFAULT[action]:
            assert content.SPEC_RE.match(spec) and action in content.carried_by(spec)
    assert content.carried_by("response.content") == {"response"}
    assert content.carried_by("messages[2].content") == set(ACTIONS)

"""parse_request's checks hold on both paths after their fast paths: a non-finite number wherever a
Struct sits in a proto request (the check reads only the parts that are set), and the list bounds on
a dict request (checked on the dict before the proto is built)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from celgate.engine.request import MAX_LIST_ITEMS, InvalidRequest, parse_request
from celgate.v1 import decision_pb2 as pb


def _context(r: pb.CheckRequest) -> None:
    r.context.update({"a": [1.0, float("nan")]})


def _attributes(r: pb.CheckRequest) -> None:
    r.principal.attributes["x"] = float("inf")


def _args(r: pb.CheckRequest) -> None:
    r.tool.args["n"] = float("nan")


def _schema(r: pb.CheckRequest) -> None:
    r.tool.input_schema["max"] = float("-inf")


def _response_call(r: pb.CheckRequest) -> None:
    r.response.tool_calls.add(name="a")
    r.response.tool_calls.add(name="b").args["n"] = float("nan")


def _message_call(r: pb.CheckRequest) -> None:
    r.messages.add(role="user", content="hi")
    r.messages.add(role="assistant").tool_calls.add(name="c").args["n"] = float("nan")


def _offered_tool(r: pb.CheckRequest) -> None:
    r.tools.add(name="t").input_schema["d"] = float("inf")


def _document(r: pb.CheckRequest) -> None:
    r.documents.add(id="d0")
    r.documents.add(id="d1").attributes["score"] = float("nan")


@pytest.mark.parametrize(
    ("put", "field"),
    [
        (_context, "context.a[1]"),
        (_attributes, "principal.attributes.x"),
        (_args, "tool.args.n"),
        (_schema, "tool.input_schema.max"),
        (_response_call, "response.tool_calls[1].args.n"),
        (_message_call, "messages[1].tool_calls[0].args.n"),
        (_offered_tool, "tools[0].input_schema.d"),
        (_document, "documents[1].attributes.score"),
    ],
)
def test_a_non_finite_number_anywhere_in_a_proto_request_is_invalid(
    put: Callable[[pb.CheckRequest], None], field: str
) -> None:
    request = pb.CheckRequest(action="tool_call", tool=pb.ToolCall(name="x"))
    put(request)
    with pytest.raises(InvalidRequest, match="finite") as info:
        parse_request(request)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        (lambda n: {"messages": [{"role": "user", "content": "x"}] * n}, "messages"),
        (lambda n: {"documents": [{"id": "d"}] * n}, "documents"),
        (lambda n: {"tools": [{"name": "t"}] * n}, "tools"),
        (lambda n: {"messages": [{"role": "assistant", "tool_calls": [{"name": "t"}] * n}]}, "messages[0].tool_calls"),
    ],
)
def test_list_bounds_hold_on_a_dict_request(shape: Callable[[int], dict], field: str) -> None:
    base = {"action": "prompt", "principal": {"id": "u"}}
    assert parse_request({**base, **shape(MAX_LIST_ITEMS)}).action == "prompt"
    with pytest.raises(InvalidRequest) as info:
        parse_request({**base, **shape(MAX_LIST_ITEMS + 1)})
    assert info.value.field == field

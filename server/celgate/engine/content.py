"""Which fields of a request hold content — text detectors read and redactions rewrite — defined once.

A field spec (what a rule's `redact.in` names) is one of:

    messages.content  messages[*].content  messages[2].content   the conversation
    response.content                                              the model's reply
    tool.args  tool.args.*  tool.args.query                       every string in a tool's arguments, or one
    tool.result                                                   what a tool returned
    documents.content  documents[*].content  documents[0].content retrieved documents
    document.content                                              the document being decided (retrieval)

`DEFAULT[action]` is what a redaction reads when it names no field; `CARRIED_BY` says which
actions' requests can hold each field (`celgate check` warns about a rule whose fields its actions
never carry); `every_text` walks all content of a request, tool calls proposed in messages and
replies included, in a fixed order (the decision log fingerprints it). Paths in the results are
the ones a decision's `redactions` and `rewritten` use: `messages[0].content`, `tool.args.query`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from google.protobuf import struct_pb2

from celgate.engine.actions import ACTIONS, PROMPT, RESPONSE, RETRIEVAL, TOOL_CALL, TOOL_RESULT
from celgate.v1 import decision_pb2 as pb

SPEC_RE = re.compile(
    r"^(response\.content|tool\.result|tool\.args(\.[A-Za-z0-9_*-]+)?|"
    r"(messages|documents)(\[\*\]|\[\d+\])?\.content|document\.content)$"
)
EXAMPLES = ("response.content", "messages.content", "tool.result", "tool.args", "documents.content")

DEFAULT: dict[str, tuple[str, ...]] = {
    PROMPT: ("messages[*].content",),
    RESPONSE: ("response.content",),
    TOOL_CALL: ("tool.args.*",),
    TOOL_RESULT: ("tool.result",),
    RETRIEVAL: ("documents[*].content",),
}

# The conversation may come with any action; the rest belongs to the actions that are about it.
CARRIED_BY: dict[str, frozenset[str]] = {
    "messages": frozenset(ACTIONS),
    "response": frozenset({RESPONSE}),
    "tool.args": frozenset({TOOL_CALL, TOOL_RESULT}),
    "tool.result": frozenset({TOOL_RESULT}),
    "documents": frozenset({RETRIEVAL}),
    "document": frozenset({RETRIEVAL}),
}


def carried_by(spec: str) -> frozenset[str]:
    """The actions whose requests can hold the field `spec` names."""
    for prefix, actions in CARRIED_BY.items():
        if spec == prefix or spec.startswith((prefix + ".", prefix + "[")):
            return actions
    return frozenset()


def texts(req: pb.CheckRequest, spec: str, document: int = -1) -> Iterator[tuple[str, str]]:
    """(path, text) for every field `spec` names; `document` >= 0 narrows documents to that one."""
    if spec == "response.content":
        yield "response.content", req.response.content
    elif spec == "tool.result":
        yield "tool.result", req.tool.result
    elif spec.startswith("tool.args"):
        only = spec[len("tool.args.") :] if spec.startswith("tool.args.") else None
        yield from _struct_strings("tool.args", req.tool.args, None if only == "*" else only)
    elif spec.startswith(("messages", "documents", "document")):
        name = "documents" if spec.startswith("document") else "messages"
        items = req.documents if name == "documents" else req.messages
        indexes: range | list[int] = range(len(items))
        if "[" in spec and "[*]" not in spec:
            indexes = [int(spec[spec.index("[") + 1 : spec.index("]")])]
        if name == "documents" and document >= 0:
            indexes = [document]
        for i in indexes:
            if 0 <= i < len(items):
                yield f"{name}[{i}].content", items[i].content


def every_text(req: pb.CheckRequest) -> Iterator[tuple[str, str]]:
    """All content of a request, in a fixed order, including the arguments of proposed tool calls."""
    for i, m in enumerate(req.messages):
        yield f"messages[{i}].content", m.content
        for j, call in enumerate(m.tool_calls):
            yield from _struct_strings(f"messages[{i}].tool_calls[{j}].args", call.args, None)
    yield "response.content", req.response.content
    for j, call in enumerate(req.response.tool_calls):
        yield from _struct_strings(f"response.tool_calls[{j}].args", call.args, None)
    yield from _struct_strings("tool.args", req.tool.args, None)
    yield "tool.result", req.tool.result
    for i, d in enumerate(req.documents):
        yield f"documents[{i}].content", d.content


def _struct_strings(prefix: str, struct: struct_pb2.Struct, only: str | None) -> Iterator[tuple[str, str]]:
    for key in sorted(struct.fields) if only is None else [only]:  # sorted: map order is not stable
        if key not in struct.fields:  # indexing a missing key would add it
            continue
        value = struct.fields[key]
        path = f"{prefix}.{key}"
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            yield path, value.string_value
        elif kind == "struct_value":
            yield from _struct_strings(path, value.struct_value, None)
        elif kind == "list_value":
            for i, item in enumerate(value.list_value.values):
                if item.WhichOneof("kind") == "string_value":
                    yield f"{path}[{i}]", item.string_value

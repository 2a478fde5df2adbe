"""JSON schemas for the OpenAPI document, derived from the proto descriptors.

The proto is the single schema: the HTTP door documents it without a pydantic model on the hot
path (which would cost more than the decision itself) and without a second, drifting definition.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from celgate.engine.actions import ACTIONS, TOOL_CALL, TOOL_RESULT
from celgate.v1 import decision_pb2 as pb

_SCALARS = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_INT64: {"type": "integer", "format": "int64"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
}


def _field(fd: FieldDescriptor, defs: dict[str, Any], closed: bool) -> dict[str, Any]:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        value = fd.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _field(value, defs, closed)}
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        if fd.message_type.full_name == "google.protobuf.Struct":
            one: dict[str, Any] = {"type": "object"}
        else:
            one = {"$ref": f"#/components/schemas/{_define(fd.message_type, defs, closed)}"}
    else:
        one = dict(_SCALARS.get(fd.type, {}))
    if fd.is_repeated:
        return {"type": "array", "items": one}
    return one


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The proto3 JSON mapping reads `null` as the field's default, and so does the engine."""
    return {"anyOf": [schema, {"type": "null"}]}


def _define(desc: Descriptor, defs: dict[str, Any], closed: bool) -> str:
    name = desc.name
    if name in defs:
        return name
    defs[name] = {}  # placeholder against recursion
    props = {fd.name: _nullable(_field(fd, defs, closed)) if closed else _field(fd, defs, closed) for fd in desc.fields}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if closed:
        schema["additionalProperties"] = False
    defs[name] = schema
    return name


def components() -> dict[str, Any]:
    """Request messages are closed (unknown fields are errors); responses are open (fields get added)."""
    defs: dict[str, Any] = {}
    for desc in (pb.CheckRequest.DESCRIPTOR, pb.CheckBatchRequest.DESCRIPTOR):
        _define(desc, defs, closed=True)
    defs["CheckRequest"]["properties"]["action"] = {"type": "string", "enum": list(ACTIONS)}
    defs["CheckBatchRequest"]["properties"]["requests"] = _field(
        pb.CheckBatchRequest.DESCRIPTOR.fields_by_name["requests"], defs, True
    )
    defs["CheckRequest"]["required"] = ["action"]
    # A tool call or tool result is about a named tool (engine/request.py: a 400 on field `tool`).
    defs["CheckRequest"]["if"] = {
        "properties": {"action": {"enum": [TOOL_CALL, TOOL_RESULT]}},
        "required": ["action"],
    }
    defs["CheckRequest"]["then"] = {
        "required": ["tool"],
        "properties": {
            "tool": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}
        },
    }
    for desc in (
        pb.CheckResponse.DESCRIPTOR,
        pb.CheckBatchResponse.DESCRIPTOR,
        pb.Approval.DESCRIPTOR,
        pb.ListApprovalsResponse.DESCRIPTOR,
        pb.GetApprovalStatusResponse.DESCRIPTOR,
    ):
        _define(desc, defs, closed=False)
    defs["DecideApprovalBody"] = {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 1000}},
        "additionalProperties": False,
    }
    defs["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    }
    return defs


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}

"""Turns a request in the proto's JSON form into a `CheckRequest`, with errors that name the field.

`json_format.ParseDict` costs about 25 µs a request and reports errors in protobuf's words; building
the message directly from a per-type field table costs a few µs and lets every door answer
"principal.roles: expected a list of strings, got string". Both proto field names (`tool_calls`)
and JSON names (`toolCalls`) are accepted, as the proto3 JSON mapping requires; unknown fields are
errors, not ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from celgate.engine.actions import ACTIONS, TOOL_CALL, TOOL_RESULT
from celgate.engine.errors import InvalidRequest
from celgate.v1 import decision_pb2 as pb

_STRUCT = "google.protobuf.Struct"
_MAX_DEPTH = 64

_SCALAR_NAMES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BOOL: "boolean",
    FieldDescriptor.TYPE_INT32: "integer",
    FieldDescriptor.TYPE_INT64: "integer",
}


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _check_json(value: Any, path: str, depth: int = 0) -> None:
    """Struct fields accept any JSON value; reject what JSON cannot hold and absurd nesting."""
    if depth > _MAX_DEPTH:
        raise InvalidRequest(path, f"nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(path, "expected a finite number")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidRequest(path, f"object keys must be strings, got {_type_name(k)}")
            _check_json(v, f"{path}.{k}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]", depth + 1)
        return
    raise InvalidRequest(path, f"expected a JSON value, got {_type_name(value)}")


def _struct(value: Any, path: str) -> struct_pb2.Struct:
    if not isinstance(value, Mapping):
        raise InvalidRequest(path, f"expected an object, got {_type_name(value)}")
    _check_json(value, path)
    s = struct_pb2.Struct()
    try:
        s.update(value)
    except (ValueError, TypeError) as exc:  # e.g. integers beyond a double's range
        raise InvalidRequest(path, str(exc)) from None
    return s


Converter = Callable[[Any, str], Any]


def _scalar(field: FieldDescriptor) -> Converter:
    ftype = field.type
    name = _SCALAR_NAMES.get(ftype, "value")
    if ftype == FieldDescriptor.TYPE_STRING:

        def conv(v: Any, path: str) -> Any:
            if isinstance(v, str):
                return v
            raise InvalidRequest(path, f"expected a string, got {_type_name(v)}")

    elif ftype == FieldDescriptor.TYPE_BOOL:

        def conv(v: Any, path: str) -> Any:
            if isinstance(v, bool):
                return v
            raise InvalidRequest(path, f"expected a boolean, got {_type_name(v)}")

    else:

        def conv(v: Any, path: str) -> Any:
            if isinstance(v, bool) or not isinstance(v, int | str):
                raise InvalidRequest(path, f"expected an {name}, got {_type_name(v)}")
            try:
                return int(v)
            except ValueError:
                raise InvalidRequest(path, f"expected an {name}, got {v!r}") from None

    return conv


class _MessageConverter:
    """Converts one message type; built once per type from its descriptor."""

    def __init__(self, descriptor: Descriptor, cls: type[Message]) -> None:
        self.cls = cls
        self.name = descriptor.name
        self.fields: dict[str, tuple[str, bool, Converter]] = {}
        self._descriptor = descriptor

    def resolve(self) -> None:
        for field in self._descriptor.fields:
            repeated = field.is_repeated
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                conv = _map_of_strings
                repeated = False
            elif field.message_type is not None and field.message_type.full_name == _STRUCT:
                conv = _struct
            elif field.message_type is not None:
                conv = _converter_for(field.message_type).convert
            else:
                conv = _scalar(field)
            entry = (field.name, repeated, conv)
            self.fields[field.name] = entry
            self.fields[field.json_name] = entry

    def convert(self, value: Any, path: str) -> Message:
        if isinstance(value, self.cls):
            return value
        if not isinstance(value, Mapping):
            raise InvalidRequest(path, f"expected an object ({self.name}), got {_type_name(value)}")
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            entry = self.fields.get(key)
            where = f"{path}.{key}" if path else str(key)
            if entry is None:
                known = ", ".join(sorted({e[0] for e in self.fields.values()}))
                raise InvalidRequest(where, f"unknown field for {self.name}; known fields: {known}")
            if item is None:
                continue  # JSON null means "not set" in the proto3 JSON mapping
            name, repeated, conv = entry
            if repeated:
                if not isinstance(item, list | tuple):
                    raise InvalidRequest(where, f"expected a list, got {_type_name(item)}")
                kwargs[name] = [conv(x, f"{where}[{i}]") for i, x in enumerate(item)]
            else:
                kwargs[name] = conv(item, where)
        return self.cls(**kwargs)


def _map_of_strings(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidRequest(path, f"expected an object, got {_type_name(value)}")
    for k, v in value.items():
        if not isinstance(v, str):
            raise InvalidRequest(f"{path}.{k}", f"expected a string, got {_type_name(v)}")
    return dict(value)


_CONVERTERS: dict[str, _MessageConverter] = {}


def _converter_for(descriptor: Descriptor) -> _MessageConverter:
    conv = _CONVERTERS.get(descriptor.full_name)
    if conv is None:
        cls = getattr(pb, descriptor.name)
        conv = _MessageConverter(descriptor, cls)
        _CONVERTERS[descriptor.full_name] = conv
        conv.resolve()
    return conv


_REQUEST = _converter_for(pb.CheckRequest.DESCRIPTOR)


# The fast path: protobuf's own constructor takes nested dicts and is several times faster than
# building each message here, but it is more lenient than the JSON mapping (a string where a list
# belongs is taken as a list of characters, 1 as true, NaN as a number). So a cheap walk first
# checks exactly those shapes; anything the walk or the constructor rejects goes through the
# careful converter above, which produces the error that names the field.
_STR, _BOOL, _MSG, _STRUCT_KIND, _REP_STR, _REP_MSG = range(6)
_Shape = dict[str, tuple[int, Any]]


def _shape(descriptor: Descriptor, seen: dict[str, _Shape]) -> _Shape:
    if descriptor.full_name in seen:
        return seen[descriptor.full_name]
    shape: _Shape = {}
    seen[descriptor.full_name] = shape
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            return {}  # maps take the careful path
        if field.message_type is not None and field.message_type.full_name == _STRUCT:
            entry = (_STRUCT_KIND, None)
        elif field.message_type is not None:
            entry = (_REP_MSG if field.is_repeated else _MSG, _shape(field.message_type, seen))
        elif field.type == FieldDescriptor.TYPE_STRING:
            entry = (_REP_STR if field.is_repeated else _STR, None)
        elif field.type == FieldDescriptor.TYPE_BOOL and not field.is_repeated:
            entry = (_BOOL, None)
        else:
            return {}
        shape[field.name] = entry
    return shape


def _json_ok(value: Any, depth: int) -> bool:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return math.isfinite(value)
    if depth >= _MAX_DEPTH:
        return False
    if t is dict:
        return all(type(k) is str and _json_ok(v, depth + 1) for k, v in value.items())
    if t is list:
        return all(_json_ok(v, depth + 1) for v in value)
    return False


def _fits(value: Any, shape: _Shape) -> bool:
    if type(value) is not dict:
        return False
    for key, item in value.items():
        entry = shape.get(key)
        if entry is None:
            return False
        if item is None:
            continue
        kind, sub = entry
        t = type(item)
        if kind == _STR:
            if t is not str:
                return False
        elif kind == _MSG:
            if not _fits(item, sub):
                return False
        elif kind == _REP_MSG:
            if t is not list or not all(_fits(x, sub) for x in item):
                return False
        elif kind == _REP_STR:
            if t is not list or not all(type(x) is str for x in item):
                return False
        elif kind == _BOOL:
            if t is not bool:
                return False
        elif t is not dict or not _json_ok(item, 0):
            return False
    return True


_REQUEST_SHAPE = _shape(pb.CheckRequest.DESCRIPTOR, {})


def _fast(request: Mapping[str, Any]) -> pb.CheckRequest | None:
    """The request built straight from a dict of the schema's shape whose lists are inside the
    bounds (`_check_sizes` holds for it: checked on the dict, where a list's length costs nothing);
    None sends it the careful way, which reports what is wrong precisely."""
    if not _REQUEST_SHAPE or not _fits(request, _REQUEST_SHAPE) or not _sizes_fit(request):
        return None
    try:
        return pb.CheckRequest(**request)
    except Exception:  # the careful path reports it precisely
        return None


def _sizes_fit(request: Mapping[str, Any]) -> bool:
    """`_check_sizes` on a request `_fits` the schema (lists are lists, messages dicts)."""
    for name in ("messages", "documents", "tools"):
        items = request.get(name)
        if items is not None and len(items) > MAX_LIST_ITEMS:
            return False
    for m in request.get("messages") or ():
        calls = m.get("tool_calls")
        if calls is not None and len(calls) > MAX_LIST_ITEMS:
            return False
    return True


def parse_request(request: Mapping[str, Any] | pb.CheckRequest) -> pb.CheckRequest:
    """Validates and converts a request; raises `InvalidRequest` naming the field at fault."""
    sized = False
    if isinstance(request, pb.CheckRequest):
        msg = request
        _check_structs(msg)
    elif isinstance(request, Mapping):
        fast = _fast(request)
        sized = fast is not None
        msg = fast or _REQUEST.convert(request, "")
    else:
        raise InvalidRequest("", f"expected a JSON object or a CheckRequest, got {_type_name(request)}")
    validate_action(msg.action)
    if msg.action in (TOOL_CALL, TOOL_RESULT) and not msg.tool.name:
        field = "tool.name" if msg.HasField("tool") else "tool"
        raise InvalidRequest(field, f"required for action {msg.action}: the tool's name (and its args)")
    if not sized:
        _check_sizes(msg)
    return msg


def _check_value(value: struct_pb2.Value, path: str, depth: int) -> None:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise InvalidRequest(path, "expected a finite number")
    elif kind == "struct_value":
        _check_struct(value.struct_value, path, depth + 1)
    elif kind == "list_value":
        if depth >= _MAX_DEPTH:
            raise InvalidRequest(path, f"nested deeper than {_MAX_DEPTH} levels")
        for i, item in enumerate(value.list_value.values):
            _check_value(item, f"{path}[{i}]", depth + 1)


def _check_struct(struct: struct_pb2.Struct, path: str, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise InvalidRequest(path, f"nested deeper than {_MAX_DEPTH} levels")
    for key, value in struct.fields.items():
        _check_value(value, f"{path}.{key}", depth)


def _check_call(call: pb.ToolCall, path: str) -> None:
    if call.HasField("args") and call.args.fields:
        _check_struct(call.args, f"{path}.args")
    if call.HasField("input_schema") and call.input_schema.fields:
        _check_struct(call.input_schema, f"{path}.input_schema")


def _check_structs(msg: pb.CheckRequest) -> None:
    """What JSON cannot carry, a proto can: NaN and infinities in a Struct (gRPC callers). They are
    invalid input on every door, as they are in JSON (`double("NaN") > 1000.0` is false, so a NaN
    amount would slip past every limit written the natural way). `HasField` first: reading a
    sub-message that is not set builds an empty one (about 0.3 µs each, 4-6 µs a request)."""
    has = msg.HasField
    if has("context") and msg.context.fields:
        _check_struct(msg.context, "context")
    if has("principal") and msg.principal.HasField("attributes") and msg.principal.attributes.fields:
        _check_struct(msg.principal.attributes, "principal.attributes")
    if has("tool"):
        _check_call(msg.tool, "tool")
    if has("response"):
        for i, call in enumerate(msg.response.tool_calls):
            _check_call(call, f"response.tool_calls[{i}]")
    for i, m in enumerate(msg.messages):
        if m.tool_calls:
            for j, call in enumerate(m.tool_calls):
                _check_call(call, f"messages[{i}].tool_calls[{j}]")
    for i, call in enumerate(msg.tools):
        _check_call(call, f"tools[{i}]")
    for i, d in enumerate(msg.documents):
        if d.HasField("attributes") and d.attributes.fields:
            _check_struct(d.attributes, f"documents[{i}].attributes")


# The most items any list of a request may hold. Lists built in a CEL loop (`filter`, `map`) cost
# the C++ runtime time quadratic in their length (a `filter` over 10,000 messages: 2 s), so this
# bounds what one request can cost; the shipped library denies conversations far shorter.
MAX_LIST_ITEMS = 2048


def _check_sizes(msg: pb.CheckRequest) -> None:
    for name in ("messages", "documents", "tools"):
        items = getattr(msg, name)
        if len(items) > MAX_LIST_ITEMS:
            raise InvalidRequest(name, f"at most {MAX_LIST_ITEMS} items per request, got {len(items)}")
    for i, m in enumerate(msg.messages):
        if len(m.tool_calls) > MAX_LIST_ITEMS:
            raise InvalidRequest(
                f"messages[{i}].tool_calls", f"at most {MAX_LIST_ITEMS} items, got {len(m.tool_calls)}"
            )


def validate_action(action: str) -> None:
    if not action:
        raise InvalidRequest("action", f"required; one of {', '.join(ACTIONS)}")
    if action not in ACTIONS:
        raise InvalidRequest("action", f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")

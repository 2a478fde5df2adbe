"""The portable backend: cel-python, pure Python.

It parses but does not type-check, so where the C++ runtime is importable the compiler still
type-checks with it first (see `engine.compiler`). Proto messages are converted to CEL values with
every field present, as proto semantics give defaults for unset fields, so that both backends see
the same request.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import celpy
from celpy import celtypes
from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from celgate.engine.backends.base import (
    EMPTY_DOCUMENT,
    LIST_VARIABLES,
    Backend,
    CelCompileError,
    EvalError,
    FunctionSpec,
    Kind,
)
from celgate.engine.scope import ResultCache, memoised
from celgate.v1 import decision_pb2 as pb

_S = celtypes.StringType


def _to_cel_json(value: Any) -> Any:
    return celpy.json_to_cel(value)


def _struct(msg: struct_pb2.Struct) -> celtypes.MapType:
    from google.protobuf.json_format import MessageToDict

    return _to_cel_json(MessageToDict(msg))


def _scalar_converter(field: FieldDescriptor) -> Callable[[Any], Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _S
    if t == FieldDescriptor.TYPE_BOOL:
        return celtypes.BoolType
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return celtypes.DoubleType
    return celtypes.IntType


def message_to_cel(msg: Message) -> celtypes.MessageType:
    """Every field, set or not, as proto semantics would show it to CEL."""
    return _convert_message(msg, msg.DESCRIPTOR)


def _convert_message(msg: Message, desc: Descriptor) -> Any:
    if desc.full_name == "google.protobuf.Struct":
        return _struct(msg)  # type: ignore[arg-type]
    out: dict[Any, Any] = {}
    for field in desc.fields:
        value = getattr(msg, field.name)
        key = _S(field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[key] = celtypes.MapType({_S(k): _S(v) for k, v in value.items()})
        elif field.message_type is not None:
            if field.is_repeated:
                out[key] = celtypes.ListType([_convert_message(v, field.message_type) for v in value])
            else:
                out[key] = _convert_message(value, field.message_type)
        else:
            conv = _scalar_converter(field)
            out[key] = celtypes.ListType([conv(v) for v in value]) if field.is_repeated else conv(value)
    return celtypes.MessageType(out)


def _finding(f: Any) -> celtypes.MapType:
    return celtypes.MessageType(
        {
            _S("type"): _S(f.type),
            _S("start"): celtypes.IntType(f.start),
            _S("end"): celtypes.IntType(f.end),
            _S("score"): celtypes.DoubleType(f.score),
        }
    )


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "string": _S,
    "int": celtypes.IntType,
    "double": celtypes.DoubleType,
    "bool": celtypes.BoolType,
    "list_string": lambda v: celtypes.ListType([_S(x) for x in v]),
    "findings": lambda v: celtypes.ListType([_finding(f) for f in v]),
    "sources": lambda v: celtypes.ListType([_source(s) for s in v]),
}


def _source(s: dict[str, Any]) -> celtypes.MessageType:
    """A provenance source with every field present, as the proto message shows it."""
    return message_to_cel(pb.Source(**s))


def _plain_arg(arg: Any) -> Any:
    if isinstance(arg, celtypes.ListType):
        return [_plain_arg(a) for a in arg]
    if isinstance(arg, celtypes.MapType):
        return {str(k): _plain_arg(v) for k, v in arg.items()}
    if isinstance(arg, celtypes.StringType):
        return str(arg)
    if isinstance(arg, celtypes.BoolType):
        return bool(arg)
    if isinstance(arg, celtypes.IntType):
        return int(arg)
    if isinstance(arg, celtypes.DoubleType):
        return float(arg)
    return arg


def _functions(functions: list[FunctionSpec], cache: ResultCache) -> dict[str, Callable[..., Any]]:
    """cel-python dispatches member calls by name alone; pick the overload by arity."""
    by_name: dict[str, dict[int, Callable[..., Any]]] = {}
    for spec in functions:
        by_name.setdefault(spec.name, {})[len(spec.params)] = memoised(
            spec.overload_id, spec.impl, _CONVERT[spec.returns], cache if spec.pure else None
        )
    out: dict[str, Callable[..., Any]] = {}
    for name, overloads in by_name.items():

        def dispatch(*args: Any, _overloads: dict[int, Any] = overloads, _name: str = name) -> Any:
            call = _overloads.get(len(args))
            if call is None:
                return celpy.CELEvalError(f"no overload of {_name} takes {len(args) - 1} arguments")
            try:
                return call(*(_plain_arg(a) for a in args))
            except Exception as exc:
                return celpy.CELEvalError(f"{_name}: {exc}", type(exc), exc.args)

        out[name] = dispatch
    return out


def _plain_result(value: Any) -> Any:
    """Results go back into `vars`, so keep them as CEL values; only bools are normalised."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    return value


class PythonBackend(Backend):
    name = "python"

    def __init__(self, functions: list[FunctionSpec]) -> None:
        self.env = celpy.Environment()
        self.results = ResultCache()  # pure functions' results across decisions, this bundle only
        self.functions = _functions(functions, self.results)

    def compile(self, source: str, kind: Kind) -> Any:
        try:
            ast = self.env.compile(source)
        except celpy.CELParseError as exc:
            line = getattr(exc, "line", None) or 1
            column = getattr(exc, "column", None) or 1
            message = str(exc.args[0]) if exc.args else "syntax error"
            raise CelCompileError([(int(line), int(column), message.splitlines()[0])]) from None
        return self.env.program(ast, functions=self.functions)

    def prepare_data(self, data: Mapping[str, Any]) -> Any:
        return _to_cel_json(dict(data))

    def bindings(
        self, request: pb.CheckRequest, names: frozenset[str], data: Any, now: datetime.datetime
    ) -> dict[str, Any]:
        b: dict[str, Any] = {}
        for name in names:
            if name == "action":
                b[name] = _S(request.action)
            elif name == "data":
                b[name] = data
            elif name == "now":
                b[name] = celtypes.TimestampType(now)
            elif name == "vars":
                b[name] = celtypes.MapType({})
            elif name == "document":
                b[name] = message_to_cel(EMPTY_DOCUMENT)
            elif name == "context":
                b[name] = _struct(request.context)
            elif name in LIST_VARIABLES:
                b[name] = celtypes.ListType([message_to_cel(m) for m in getattr(request, name)])
            else:
                b[name] = message_to_cel(getattr(request, name))
        return b

    def convert_document(self, document: pb.Document) -> Any:
        return message_to_cel(document)

    def variables(self, values: dict[str, Any]) -> Any:
        return celtypes.MapType({_S(k): celtypes.BoolType(v) if isinstance(v, bool) else v for k, v in values.items()})

    def activation(self, bindings: dict[str, Any]) -> Any:
        return bindings

    def evaluate(self, program: Any, activation: Any) -> Any:
        try:
            value = program.evaluate(activation)
        except celpy.CELEvalError as exc:
            return EvalError(_error_text(exc))
        except Exception as exc:  # cel-python raises plain Python errors for some type mismatches
            return EvalError(f"{type(exc).__name__}: {exc}")
        if isinstance(value, celpy.CELEvalError):
            return EvalError(_error_text(value))
        return _plain_result(value)


def _error_text(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)

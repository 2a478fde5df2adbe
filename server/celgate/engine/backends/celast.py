"""The checked CEL syntax tree that cel-expr-python serialises, readable from Python.

`Expression.serialize()` returns a `google.protobuf.Any` holding a `cel.expr.CheckedExpr`: the
parsed expression with macros expanded, plus what the type-checker resolved (the type of every
node and the overloads each call can take). No package on PyPI ships Python classes for the
`cel.expr` protos, so the few messages the closures backend reads are declared here, by hand, with
the field numbers of the public CEL specification (cel-spec `proto/cel/expr/syntax.proto` and
`checked.proto`). Fields we do not declare are kept as unknown fields and ignored; a tree that
uses them (optional syntax, say) is refused by the transpiler, never misread.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_PACKAGE = "celgate.celast"  # our own package name: never clashes with real cel.expr classes


def _message(file: descriptor_pb2.FileDescriptorProto, name: str, fields: list[tuple[Any, ...]]) -> None:
    msg = file.message_type.add(name=name)
    for entry in fields:
        fname, number, ftype = entry[0], entry[1], entry[2]
        type_name = entry[3] if len(entry) > 3 else None
        label = entry[4] if len(entry) > 4 else _F.LABEL_OPTIONAL
        field = msg.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            field.type_name = type_name


def _build() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="celgate/celast.proto", package=_PACKAGE, syntax="proto3")
    msg, rep = _F.TYPE_MESSAGE, _F.LABEL_REPEATED
    p = f".{_PACKAGE}."
    _message(
        file,
        "Constant",
        [
            ("null_value", 1, _F.TYPE_INT32),  # google.protobuf.NullValue, an enum: read as its number
            ("bool_value", 2, _F.TYPE_BOOL),
            ("int64_value", 3, _F.TYPE_INT64),
            ("uint64_value", 4, _F.TYPE_UINT64),
            ("double_value", 5, _F.TYPE_DOUBLE),
            ("string_value", 6, _F.TYPE_STRING),
            ("bytes_value", 7, _F.TYPE_BYTES),
        ],
    )
    # The oneof of Constant matters (0 is a valid int64); declare it so WhichOneof works.
    const = file.message_type[0]
    const.oneof_decl.add(name="constant_kind")
    for f in const.field:
        f.oneof_index = 0
    _message(file, "Ident", [("name", 1, _F.TYPE_STRING)])
    _message(
        file,
        "Select",
        [("operand", 1, msg, p + "Expr"), ("field", 2, _F.TYPE_STRING), ("test_only", 3, _F.TYPE_BOOL)],
    )
    _message(
        file,
        "Call",
        [("target", 1, msg, p + "Expr"), ("function", 2, _F.TYPE_STRING), ("args", 3, msg, p + "Expr", rep)],
    )
    _message(
        file,
        "CreateList",
        [("elements", 1, msg, p + "Expr", rep), ("optional_indices", 2, _F.TYPE_INT32, None, rep)],
    )
    _message(
        file,
        "Entry",
        [
            ("id", 1, _F.TYPE_INT64),
            ("field_key", 2, _F.TYPE_STRING),
            ("map_key", 3, msg, p + "Expr"),
            ("value", 4, msg, p + "Expr"),
            ("optional_entry", 5, _F.TYPE_BOOL),
        ],
    )
    _message(
        file,
        "CreateStruct",
        [("message_name", 1, _F.TYPE_STRING), ("entries", 2, msg, p + "Entry", rep)],
    )
    _message(
        file,
        "Comprehension",
        [
            ("iter_var", 1, _F.TYPE_STRING),
            ("iter_range", 2, msg, p + "Expr"),
            ("accu_var", 3, _F.TYPE_STRING),
            ("accu_init", 4, msg, p + "Expr"),
            ("loop_condition", 5, msg, p + "Expr"),
            ("loop_step", 6, msg, p + "Expr"),
            ("result", 7, msg, p + "Expr"),
            ("iter_var2", 8, _F.TYPE_STRING),
        ],
    )
    _message(
        file,
        "Expr",
        [
            ("id", 2, _F.TYPE_INT64),
            ("const_expr", 3, msg, p + "Constant"),
            ("ident_expr", 4, msg, p + "Ident"),
            ("select_expr", 5, msg, p + "Select"),
            ("call_expr", 6, msg, p + "Call"),
            ("list_expr", 7, msg, p + "CreateList"),
            ("struct_expr", 8, msg, p + "CreateStruct"),
            ("comprehension_expr", 9, msg, p + "Comprehension"),
        ],
    )
    expr = file.message_type[-1]
    expr.oneof_decl.add(name="expr_kind")
    for f in expr.field[1:]:
        f.oneof_index = 0
    # Types: only what the transpiler looks at (primitive kinds, messages, lists and maps); every
    # other kind (wrappers, well-known types, type parameters, ...) reads as "not understood".
    _message(file, "ListType", [("elem_type", 1, msg, p + "Type")])
    _message(file, "MapType", [("key_type", 1, msg, p + "Type"), ("value_type", 2, msg, p + "Type")])
    _message(file, "Empty", [])
    _message(
        file,
        "Type",
        [
            ("dyn", 1, msg, p + "Empty"),
            ("null", 2, _F.TYPE_INT32),
            ("primitive", 3, _F.TYPE_INT32),  # 1 bool, 2 int64, 3 uint64, 4 double, 5 string, 6 bytes
            ("wrapper", 4, _F.TYPE_INT32),
            ("well_known", 5, _F.TYPE_INT32),  # 1 any, 2 timestamp, 3 duration
            ("list_type", 6, msg, p + "ListType"),
            ("map_type", 7, msg, p + "MapType"),
            ("message_type", 9, _F.TYPE_STRING),
            ("type_param", 10, _F.TYPE_STRING),
            ("type", 11, msg, p + "Type"),
            ("error", 12, msg, p + "Empty"),
        ],
    )
    typ = file.message_type[-1]
    typ.oneof_decl.add(name="type_kind")
    for f in typ.field:
        f.oneof_index = 0
    _message(
        file,
        "Reference",
        [("name", 1, _F.TYPE_STRING), ("overload_id", 3, _F.TYPE_STRING, None, rep), ("value", 4, msg, p + "Constant")],
    )
    for name, value_type in (("ReferenceMapEntry", p + "Reference"), ("TypeMapEntry", p + "Type")):
        entry = file.message_type.add(name=name)
        entry.field.add(name="key", number=1, type=_F.TYPE_INT64, label=_F.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=msg, type_name=value_type, label=_F.LABEL_OPTIONAL)
        entry.options.map_entry = True
    checked = file.message_type.add(name="CheckedExpr")
    for fname, number, entry_name in (("reference_map", 2, "ReferenceMapEntry"), ("type_map", 3, "TypeMapEntry")):
        checked.field.add(name=fname, number=number, type=msg, type_name=p + entry_name, label=rep)
    checked.field.add(name="expr", number=4, type=msg, type_name=p + "Expr", label=_F.LABEL_OPTIONAL)
    # Map entry types must be nested in the message using them: move them in.
    for entry_name in ("ReferenceMapEntry", "TypeMapEntry"):
        index = next(i for i, m in enumerate(file.message_type) if m.name == entry_name)
        nested = checked.nested_type.add()
        nested.CopyFrom(file.message_type[index])
        del file.message_type[index]
    for f in checked.field:
        if f.name in ("reference_map", "type_map"):
            f.type_name = f"{p}CheckedExpr.{f.type_name.rsplit('.', 1)[1]}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.CheckedExpr"))


CheckedExpr = _build()
_CHECKED_URL = "type.googleapis.com/cel.expr.CheckedExpr"


def checked_expr(serialized: bytes) -> Any:
    """The CheckedExpr inside what `Expression.serialize()` returned."""
    wrapper = any_pb2.Any.FromString(serialized)
    if wrapper.type_url != _CHECKED_URL:
        raise ValueError(f"not a checked CEL expression: {wrapper.type_url}")
    return CheckedExpr.FromString(wrapper.value)

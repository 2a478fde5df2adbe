"""CEL values and operators over plain Python values, for the closures backend.

A CEL value is the Python value it already is: null `None`, bool, int (int64), float (double), str,
bytes, a list (a `list`, or a protobuf repeated field as the message holds it), a map (`dict`, with
`google.protobuf.Struct` converted to one), a protobuf message, a timestamp (aware `datetime`) or a
duration (`timedelta`). Nothing is converted per request except `Struct` fields.

Three ways out of an operator:

- a value;
- `CelError`: a CEL run-time error (no such key, divide by zero, no matching overload). It is a
  value in CEL, so `&&`, `||`, comprehensions and `cel.bind` catch and carry it (`ErrorValue`);
- `Fallback`: a case this module does not reproduce exactly (uint, a map keyed by numbers, double to
  string, timestamps arithmetic, message equality, ...). It is not an error and is never absorbed:
  the whole evaluation is handed to the C++ runtime, which decides it. Every operator keeps to the
  cases where Python and CEL agree bit for bit and falls back on the rest.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import re2
from google.protobuf import struct_pb2
from google.protobuf.message import Message

from celgate.v1 import decision_pb2 as pb

# The list types a message hands out for its repeated fields (their classes depend on the protobuf
# implementation installed, so they are taken from instances).
RepeatedScalarContainer = type(pb.Principal().roles)
RepeatedCompositeContainer = type(pb.Message().tool_calls)
INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
EXACT = 1 << 53  # ints of at most this size are doubles exactly: mixed int/double compares agree


class CelError(Exception):
    """A CEL run-time error; the expression's value is an error, not an exception."""

    __slots__ = ()

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else "error"


class Fallback(Exception):
    """This evaluation needs the C++ runtime: a case the closures do not reproduce exactly."""


class ErrorValue:
    """An error held as a value (a comprehension's accumulator, a `cel.bind` variable)."""

    __slots__ = ("error",)

    def __init__(self, error: CelError) -> None:
        self.error = error


class CelType:
    """A CEL type value (`type(x)`, `string`, `map`): compared by name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"CelType({self.name})"


TYPES = {
    name: CelType(name)
    for name in ("bool", "int", "uint", "double", "string", "bytes", "null_type", "list", "map", "type")
}
TYPES["google.protobuf.Timestamp"] = CelType("google.protobuf.Timestamp")
TYPES["google.protobuf.Duration"] = CelType("google.protobuf.Duration")


class Unordered(list):  # type: ignore[type-arg]
    """A list built by iterating a map (`m.filter(k, ...)`, `m.map(k, ...)`): its elements are CEL's,
    its order is Python's insertion order where the C++ runtime uses its hash order. Anything that
    reads that order (indexing, list equality, join, an order-dependent comprehension, a function
    argument not known to ignore order) falls back; size, `in`, exists and all do not."""

    __slots__ = ()


LISTS = (list, Unordered, RepeatedScalarContainer, RepeatedCompositeContainer)
_LIST_TYPES = frozenset(LISTS)
_NONE = type(None)
_SCALARS = frozenset((bool, int, float, str, bytes, _NONE))
# Types whose CEL type is known, so a mismatch is a plain "no matching overload" error.
_KNOWN = frozenset((bool, int, float, str, bytes, _NONE, dict, *LISTS))


def no_overload(name: str, *args: Any) -> CelError:
    kinds = ", ".join(type_name(a) for a in args)
    return CelError(f"No matching overloads found : {name}({kinds})")


def type_name(value: Any) -> str:
    t = type(value)
    if t is bool:
        return "bool"
    if t is int:
        return "int64"
    if t is float:
        return "double"
    if t is str:
        return "string"
    if t is bytes:
        return "bytes"
    if t is _NONE:
        return "null_type"
    if t in _LIST_TYPES:
        return "list"
    if t is dict:
        return "map"
    if isinstance(value, Message):
        return value.DESCRIPTOR.full_name
    return t.__name__


def check_int(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise CelError("integer overflow")


# ---- equality -------------------------------------------------------------------------------


def equals(a: Any, b: Any) -> bool:
    """CEL's heterogeneous equality (numbers across int and double; never bool against int)."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta in _SCALARS:
            return a == b  # type: ignore[no-any-return]
        if ta is dict:
            return _map_equals(a, b)
        if ta in _LIST_TYPES:
            return _list_equals(a, b)
        if ta is CelType:
            return a.name == b.name  # type: ignore[no-any-return]
        if ta is datetime.datetime or ta is datetime.timedelta:
            return a == b  # type: ignore[no-any-return]
        raise Fallback(f"equality of {ta.__name__}")
    if ta is int and tb is float:
        if -EXACT <= a <= EXACT:
            return float(a) == b
        raise Fallback("int/double equality out of the exact range")
    if ta is float and tb is int:
        if -EXACT <= b <= EXACT:
            return a == float(b)
        raise Fallback("int/double equality out of the exact range")
    if ta in _LIST_TYPES and tb in _LIST_TYPES:
        return _list_equals(a, b)
    if ta in _KNOWN and tb in _KNOWN:
        return False  # different kinds of value are never equal
    if (ta is CelType or tb is CelType) and (ta in _KNOWN or tb in _KNOWN):
        return False
    raise Fallback(f"equality of {ta.__name__} and {tb.__name__}")


def _list_equals(a: Any, b: Any) -> bool:
    if len(a) != len(b):
        return False
    if type(a) is Unordered or type(b) is Unordered:
        raise Fallback("equality of a list in map order")
    return all(equals(x, y) for x, y in zip(a, b, strict=True))


def _map_equals(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    if len(a) != len(b):
        return False
    for key, value in a.items():
        if type(key) is not str:
            raise Fallback("map equality with non-string keys")
        if key not in b:
            return False
        if not equals(value, b[key]):
            return False
    return True


def contains(item: Any, container: Any) -> bool:
    """`item in container`."""
    tc = type(container)
    if tc in _LIST_TYPES:
        if type(item) is str:
            return item in container  # a str equals only an equal str, in Python as in CEL
        return any(equals(item, element) for element in container)
    if tc is dict:
        if type(item) is str:
            return item in container
        raise Fallback("`in` a map with a non-string key")
    if tc in _KNOWN:
        raise no_overload("@in", item, container)
    raise Fallback(f"`in` of {tc.__name__}")


# ---- ordering and arithmetic ----------------------------------------------------------------

_ORDERED = frozenset((int, float, str, bytes, bool, datetime.datetime, datetime.timedelta))


def _ordered(name: str, a: Any, b: Any) -> None:
    """Raises unless `a` and `b` compare in CEL exactly as in Python."""
    ta, tb = type(a), type(b)
    if ta is tb and ta in _ORDERED:
        return
    if ta is int and tb is float:
        if -EXACT <= a <= EXACT:
            return
        raise Fallback("int/double comparison out of the exact range")
    if ta is float and tb is int:
        if -EXACT <= b <= EXACT:
            return
        raise Fallback("int/double comparison out of the exact range")
    if ta in _KNOWN and tb in _KNOWN:
        raise no_overload(name, a, b)
    raise Fallback(f"{name} of {ta.__name__} and {tb.__name__}")


def less(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or type(a) is not str:
        _ordered("_<_", a, b)
    return a < b  # type: ignore[no-any-return]


def less_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or type(a) is not str:
        _ordered("_<=_", a, b)
    return a <= b  # type: ignore[no-any-return]


def greater(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or type(a) is not str:
        _ordered("_>_", a, b)
    return a > b  # type: ignore[no-any-return]


def greater_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b) or type(a) is not str:
        _ordered("_>=_", a, b)
    return a >= b  # type: ignore[no-any-return]


def _arith_types(name: str, a: Any, b: Any) -> type:
    ta, tb = type(a), type(b)
    if ta is tb and (ta is int or ta is float):
        return ta
    if ta in _KNOWN and tb in _KNOWN:
        raise no_overload(name, a, b)
    raise Fallback(f"{name} of {ta.__name__} and {tb.__name__}")


def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is int:
            return check_int(a + b)
        if ta is float or ta is str or ta is bytes:
            return a + b
    if ta in _LIST_TYPES and tb in _LIST_TYPES:
        if ta is Unordered or tb is Unordered:
            return Unordered([*a, *b])
        return [*a, *b]
    if ta in _KNOWN and tb in _KNOWN:
        raise no_overload("_+_", a, b)
    raise Fallback(f"_+_ of {ta.__name__} and {tb.__name__}")


def subtract(a: Any, b: Any) -> Any:
    if _arith_types("_-_", a, b) is int:
        return check_int(a - b)
    return a - b


def multiply(a: Any, b: Any) -> Any:
    if _arith_types("_*_", a, b) is int:
        return check_int(a * b)
    return a * b


def divide(a: Any, b: Any) -> Any:
    if _arith_types("_/_", a, b) is int:
        if b == 0:
            raise CelError("divide by zero")
        if a == INT_MIN and b == -1:
            raise CelError("integer overflow")
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q  # truncated toward zero, as C does
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def modulo(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b == 0:
            raise CelError("modulus by zero")
        if a == INT_MIN and b == -1:
            raise Fallback("int64 minimum modulo -1")
        r = abs(a) % abs(b)
        return r if a >= 0 else -r  # the sign of the dividend, as C does
    if ta in _KNOWN and tb in _KNOWN:
        raise no_overload("_%_", a, b)
    raise Fallback(f"_%_ of {ta.__name__} and {tb.__name__}")


def negate(a: Any) -> Any:
    ta = type(a)
    if ta is int:
        return check_int(-a)
    if ta is float:
        return -a
    if ta in _KNOWN:
        raise no_overload("-_", a)
    raise Fallback(f"-_ of {ta.__name__}")


def logical_not(a: Any) -> bool:
    if a is True:
        return False
    if a is False:
        return True
    if type(a) in _KNOWN:
        raise no_overload("!_", a)
    raise Fallback(f"!_ of {type(a).__name__}")


# ---- selection and indexing -----------------------------------------------------------------


def index(container: Any, key: Any) -> Any:
    tc, tk = type(container), type(key)
    if tc is dict:
        if tk is str:
            try:
                return container[key]
            except KeyError:
                raise CelError(f'Key not found in map : "{key}"') from None
        raise Fallback("map index with a non-string key")
    if tc in _LIST_TYPES:
        if tc is Unordered:
            raise Fallback("indexing a list in map order")
        if tk is int:
            if 0 <= key < len(container):
                return container[key]
            raise CelError(f"Index error: index={key} size={len(container)}")
        raise Fallback(f"list index of {tk.__name__}")
    if tc in _KNOWN:
        raise no_overload("_[_]", container, key)
    raise Fallback(f"index into {tc.__name__}")


def size(value: Any) -> int:
    t = type(value)
    if t is str or t is bytes or t is dict or t in _LIST_TYPES:
        return len(value)
    if t in _KNOWN:
        raise no_overload("size", value)
    raise Fallback(f"size of {t.__name__}")


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A `google.protobuf.Struct` as the map CEL sees: numbers are doubles, nulls None."""
    return {key: _value(v) for key, v in struct.fields.items()}


def _value(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        return v.number_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return struct_to_dict(v.struct_value)
    if kind == "list_value":
        return [_value(x) for x in v.list_value.values]
    if kind == "null_value":
        return None
    raise Fallback("a google.protobuf.Value with no kind set")


def type_of(value: Any) -> CelType:
    t = type(value)
    if t is bool:
        return TYPES["bool"]
    if t is int:
        return TYPES["int"]
    if t is float:
        return TYPES["double"]
    if t is str:
        return TYPES["string"]
    if t is bytes:
        return TYPES["bytes"]
    if t is _NONE:
        return TYPES["null_type"]
    if t is dict:
        return TYPES["map"]
    if t in _LIST_TYPES:
        return TYPES["list"]
    raise Fallback(f"type() of {t.__name__}")


# ---- conversions ----------------------------------------------------------------------------


def to_int(value: Any) -> int:
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is float:
        if math.isnan(value) or not (-9.223372036854775e18 <= value <= 9.223372036854775e18):
            raise CelError("double out of int64 range")
        return int(value)  # truncates toward zero
    if t is str:
        text = value
        if text.isascii() and text.lstrip("-").isdigit() and text.count("-") <= 1 and text == text.strip():
            return check_int(int(text))
        raise Fallback("int() of an unusual string")  # whitespace, '+', underscores: C's strtoll rules
    raise Fallback(f"int() of {t.__name__}")


def to_double(value: Any) -> float:
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is int:
        if -EXACT <= value <= EXACT:
            return float(value)
        raise Fallback("double() of a large int")
    if t is str and _DECIMAL.fullmatch(value):
        result = float(value)  # both sides round correctly; only the accepted spellings differ
        if not math.isinf(result) and (result != 0.0 or not _NONZERO_DIGIT.search(value.split("e")[0].split("E")[0])):
            return result
    raise Fallback(f"double() of {t.__name__}")  # other spellings (inf, hex, spaces) parse differently


_DECIMAL = re2.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NONZERO_DIGIT = re2.compile(r"[1-9]")


def to_string(value: Any) -> str:
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is int:
        return str(value)
    if t is bool:
        return "true" if value else "false"
    if t is _NONE or t is dict or t in _LIST_TYPES:
        raise no_overload("string", value)
    raise Fallback(f"string() of {t.__name__}")  # double formatting, bytes decoding, timestamps


# ---- strings --------------------------------------------------------------------------------

_REGEX_CACHE: dict[str, Any] = {}
_REGEX_OPTIONS = re2.Options()
_REGEX_OPTIONS.log_errors = False


def _regex(pattern: str) -> Any:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            compiled = re2.compile(pattern, options=_REGEX_OPTIONS)
        except re2.error as exc:
            raise CelError(f"invalid regular expression: {exc}") from None
        if len(_REGEX_CACHE) > 1024:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[pattern] = compiled
    return compiled


def matches(text: Any, pattern: Any) -> bool:
    if type(text) is not str or type(pattern) is not str:
        raise Fallback("matches() of a non-string")
    return _regex(pattern).search(text) is not None


def strings(*args: Any) -> None:
    for a in args:
        if type(a) is not str:
            if type(a) in _KNOWN:
                raise CelError(f"No matching overloads found : a string function given {type_name(a)}")
            raise Fallback(f"a string function given {type(a).__name__}")


def lower_ascii(text: str) -> str:
    strings(text)
    return text.translate(_LOWER) if not text.isascii() else text.lower()


def upper_ascii(text: str) -> str:
    strings(text)
    return text.translate(_UPPER) if not text.isascii() else text.upper()


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def join(items: Any, sep: str = "") -> str:
    if type(items) not in _LIST_TYPES or type(items) is Unordered or type(sep) is not str:
        raise Fallback("join() of unusual arguments")
    for item in items:
        if type(item) is not str:
            raise Fallback("join() of a non-string element")
    return sep.join(items)


def index_of(text: str, sub: str) -> int:
    strings(text, sub)
    return text.find(sub)  # code points, like CEL


def last_index_of(text: str, sub: str) -> int:
    strings(text, sub)
    return text.rfind(sub)


def regex_check(pattern: str) -> None:
    """Compile-time: a constant pattern is compiled once, when the expression is."""
    _regex(pattern)


def plain(value: Any) -> Any:
    """A value as cel-expr-python hands it to a Python function: lists and maps plain."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t in _LIST_TYPES and t is not Unordered:
        return [plain(v) for v in value]
    if t is dict:
        return {k: plain(v) for k, v in value.items()}
    raise Fallback(f"a function argument of {t.__name__}")


def check_plain(value: Any, depth: int = 0) -> bool:
    """Whether bound data is made only of values these closures handle like the C++ runtime does
    (JSON-like, string keys, ints in int64: a bigger Python int binds as a uint there)."""
    t = type(value)
    if t is int:
        return INT_MIN <= value <= INT_MAX
    if t in _SCALARS:
        return True
    if depth > 64:
        return False
    if t is list:
        return all(check_plain(v, depth + 1) for v in value)
    if t is dict:
        return all(type(k) is str and check_plain(v, depth + 1) for k, v in value.items())
    return False


# ---- helpers of the generated code (closures_codegen) ----------------------------------------


def overflow() -> Any:
    raise CelError("integer overflow")


def raise_error(value: ErrorValue) -> Any:
    """Reading a variable that holds an error: the error."""
    raise value.error


def logic_error(op: str, a: Any, b: Any) -> Exception:
    """The error of `a && b` / `a || b` when neither side decided it alone."""
    if isinstance(a, CelError):
        return a
    name = "_||_" if op == "or" else "_&&_"
    if a is not True and a is not False:
        return no_overload(name, a)
    return no_overload(name, b)


def bad_range(value: Any) -> None:
    if type(value) in _KNOWN:
        raise CelError(f"expression of type '{type_name(value)}' cannot be the range of a comprehension")
    raise Fallback(f"comprehension over {type(value).__name__}")


def in_map_order(value: Any) -> Any:
    """The result of map/filter over a map: the C++ runtime's elements, in another order."""
    if type(value) is list or type(value) is Unordered:
        return Unordered(value)
    raise Fallback("an order-dependent comprehension over a map")

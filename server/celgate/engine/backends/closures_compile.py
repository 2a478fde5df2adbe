"""Turns a type-checked CEL expression into nested Python closures.

Input is the `cel.expr.CheckedExpr` the C++ runtime's checker produced (see `celast`): macros are
already expanded into comprehensions, every call names the overloads the checker allowed, every
node has its type. Each node becomes one closure `f(frame) -> value`; `frame` is a dict of the bound
variables plus the comprehension variables, which get names no CEL identifier can have.

Anything this module does not fully understand raises `Unsupported` while compiling, and the
backend then evaluates that expression with the C++ runtime. At run time, operators raise
`Fallback` for the cases they do not reproduce exactly (see `closures_runtime`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from celgate.engine.backends import closures_runtime as rt
from celgate.engine.backends.base import BUDGET_EXCEEDED, ITERATION_BUDGET
from celgate.engine.backends.closures_runtime import CelError, ErrorValue, Fallback

Closure = Callable[[dict[Any, Any]], Any]
BUDGET = 0  # frame key of the iteration counter (an int: no CEL identifier collides with it)


class Unsupported(Exception):
    """The expression uses something the transpiler does not reproduce: evaluate it elsewhere."""


def pick_overload(fn: str, specs: list[Any], arity: int, member: bool) -> tuple[str, Any, tuple[str, ...]]:
    """The one overload of a registered function a call can mean, told apart by its arity alone.

    Both tiers (closure tree and generated code) resolve calls the same way; an overload set they
    cannot tell apart by arity and member-ness stays with the C++ runtime.
    """
    by_arity = {}
    for overload_id, n, is_member, impl, params in specs:
        if is_member != member or n in by_arity:
            raise Unsupported(f"ambiguous overloads of {fn}")
        by_arity[n] = (overload_id, impl, params)
    if arity not in by_arity:
        raise Unsupported(f"no overload of {fn} with {arity} arguments")
    return by_arity[arity]


_PRIMITIVE = {1: "bool", 2: "int", 3: "uint", 4: "double", 5: "string", 6: "bytes"}
_NO_VALUE = object()


def _type_kind(t: Any) -> str:
    """A short name for a checked type: bool, int, uint, double, string, bytes, list, map,
    message:<name>, dyn, null, type, other."""
    kind = t.WhichOneof("type_kind")
    if kind == "primitive":
        return _PRIMITIVE.get(t.primitive, "other")
    if kind == "message_type":
        return "message:" + t.message_type
    if kind == "list_type":
        return "list"
    if kind == "map_type":
        return "map"
    if kind in ("dyn", "null", "type"):
        return kind
    return "other"


# Fields whose value these closures read straight from the message (getattr gives the CEL value).
_DIRECT = {
    FieldDescriptor.TYPE_STRING,
    FieldDescriptor.TYPE_BOOL,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_DOUBLE,
    FieldDescriptor.TYPE_BYTES,
}


def field_reader(desc: Descriptor, name: str, test_only: bool) -> Callable[[Any], Any]:
    """How to read (or, with `test_only`, test the presence of) field `name` of a `desc` message."""
    field = desc.fields_by_name.get(name)
    if field is None:
        raise Unsupported(f"no field {name} in {desc.full_name}")
    repeated = field.is_repeated
    sub = field.message_type
    if sub is not None and sub.GetOptions().map_entry:
        raise Unsupported(f"map field {desc.full_name}.{name}")
    if test_only:
        if repeated:
            return lambda m: len(getattr(m, name)) > 0
        if sub is not None or field.has_presence:
            return lambda m: m.HasField(name)
        default = field.default_value
        return lambda m: getattr(m, name) != default
    if repeated:
        if sub is None and field.type not in _DIRECT:
            raise Unsupported(f"repeated field {name} of type {field.type}")
        if sub is not None and sub.full_name.startswith("google.protobuf."):
            raise Unsupported(f"repeated well-known field {name}")
        return lambda m: getattr(m, name)
    if sub is not None:
        if sub.full_name == "google.protobuf.Struct":
            to_dict = rt.struct_to_dict
            return lambda m: to_dict(getattr(m, name))
        if sub.full_name.startswith("google.protobuf."):
            raise Unsupported(f"well-known field {desc.full_name}.{name}")
        return lambda m: getattr(m, name)
    if field.type not in _DIRECT:
        raise Unsupported(f"field {desc.full_name}.{name} of type {field.type}")  # uint, float, enum
    return lambda m: getattr(m, name)


_READERS: dict[tuple[str, str, bool], Callable[[Any], Any]] = {}


def dyn_select(value: Any, name: str, test_only: bool) -> Any:
    """`value.name` (or `has(value.name)`) for a value whose type the checker left open."""
    t = type(value)
    if t is dict:
        if test_only:
            return name in value
        try:
            return value[name]
        except KeyError:
            raise CelError(f'Key not found in map : "{name}"') from None
    desc = getattr(value, "DESCRIPTOR", None)
    if isinstance(desc, Descriptor) and desc.full_name.startswith("celgate.v1."):
        key = (desc.full_name, name, test_only)
        reader = _READERS.get(key)
        if reader is None:
            if name not in desc.fields_by_name:
                raise CelError(f"no_such_field : {name}")
            try:
                reader = field_reader(desc, name, test_only)
            except Unsupported as exc:
                raise Fallback(str(exc)) from None
            _READERS[key] = reader
        return reader(value)
    if t in (bool, int, float, str, bytes, type(None), *rt.LISTS):
        raise CelError(f"type '{rt.type_name(value)}' does not support field selection")
    raise Fallback(f"field selection on {t.__name__}")


def _catch(fn: Closure, frame: dict[Any, Any]) -> Any:
    try:
        return fn(frame)
    except CelError as exc:
        return ErrorValue(exc)


class Transpiler:
    """One checked expression to one closure."""

    def __init__(
        self, checked: Any, variables: frozenset[str], functions: dict[str, Any], sets: dict[str, tuple[int, ...]]
    ) -> None:
        self.sets = sets  # overload id -> positions of list(string) parameters read as sets
        self.refs = checked.reference_map
        self.types = checked.type_map
        self.variables = variables  # names bound by the engine
        self.functions = functions  # overload id -> (arity, member, impl, dyn params)
        self.scopes: list[dict[str, str]] = []  # comprehension variables in scope: CEL name -> frame key
        self.locals = 0
        self.pool = descriptor_pool.Default()
        self.used_globals: set[str] = set()

    # -- helpers

    def kind(self, expr: Any) -> str:
        t = self.types.get(expr.id)
        return "dyn" if t is None else _type_kind(t)

    def build(self, expr: Any) -> Closure:
        fn, _ = self.node(expr)
        return fn

    def node(self, expr: Any) -> tuple[Closure, Any]:
        """(closure, constant value or _NO_VALUE)."""
        kind = expr.WhichOneof("expr_kind")
        if kind == "const_expr":
            value = self.constant(expr.const_expr)
            return (lambda f: value), value
        if kind == "ident_expr":
            return self.ident(expr), _NO_VALUE
        if kind == "select_expr":
            return self.select(expr), _NO_VALUE
        if kind == "call_expr":
            return self.call(expr)
        if kind == "list_expr":
            return self.list_(expr)
        if kind == "struct_expr":
            return self.struct(expr)
        if kind == "comprehension_expr":
            return self.comprehension(expr), _NO_VALUE
        raise Unsupported(f"expression kind {kind}")

    def constant(self, const: Any) -> Any:
        which = const.WhichOneof("constant_kind")
        if which == "null_value":
            return None
        if which == "bool_value":
            return const.bool_value
        if which == "int64_value":
            return const.int64_value
        if which == "double_value":
            return const.double_value
        if which == "string_value":
            return const.string_value
        if which == "bytes_value":
            return const.bytes_value
        raise Unsupported(f"constant {which}")

    # -- identifiers and selection

    def ident(self, expr: Any) -> Closure:
        ref = self.refs.get(expr.id)
        name = ref.name if ref is not None and ref.name else expr.ident_expr.name
        if ref is not None and ref.HasField("value"):
            raise Unsupported(f"constant identifier {name}")
        for scope in reversed(self.scopes):
            key = scope.get(name)
            if key is not None:

                def local(f: dict[Any, Any], key: str = key) -> Any:
                    value = f[key]
                    if value.__class__ is ErrorValue:
                        raise value.error
                    return value

                return local
        if name in rt.TYPES and name not in self.variables:
            value = rt.TYPES[name]
            return lambda f: value
        if name not in self.variables:
            raise Unsupported(f"identifier {name}")
        self.used_globals.add(name)
        return lambda f: f[name]  # a variable the engine did not bind: KeyError, handed to the C++ runtime

    def select(self, expr: Any) -> Closure:
        sel = expr.select_expr
        if expr.id in self.refs:
            raise Unsupported("a qualified name")
        operand = self.build(sel.operand)
        name, test_only = sel.field, sel.test_only
        kind = self.kind(sel.operand)
        if kind.startswith("message:"):
            message = kind.split(":", 1)[1]
            if message == "google.protobuf.Struct":  # bound and read as a dict
                if test_only:
                    return lambda f: name in operand(f)

                def struct_field(f: dict[Any, Any]) -> Any:
                    value = operand(f)
                    try:
                        return value[name]
                    except KeyError:
                        raise CelError(f'Key not found in map : "{name}"') from None

                return struct_field
            if not message.startswith("celgate.v1."):
                raise Unsupported(f"selection on {message}")
            reader = field_reader(self.pool.FindMessageTypeByName(message), name, test_only)
            return lambda f: reader(operand(f))
        if kind in ("map", "dyn"):
            select = dyn_select
            return lambda f: select(operand(f), name, test_only)
        raise Unsupported(f"selection on {kind}")

    # -- calls

    def call(self, expr: Any) -> tuple[Closure, Any]:
        call = expr.call_expr
        fn = call.function
        ref = self.refs.get(expr.id)
        overloads = list(ref.overload_id) if ref is not None else []
        args = ([call.target] if call.HasField("target") else []) + list(call.args)
        special = _SPECIAL.get(fn)
        if special is not None:
            return special(self, expr, args), _NO_VALUE
        own = [(o, *self.functions[o]) for o in overloads if o in self.functions]
        if own:
            return self.registered(fn, own, args, call.HasField("target")), _NO_VALUE
        op = _OPERATORS.get((fn, len(args)))
        if op is None:
            raise Unsupported(f"function {fn}/{len(args)} ({', '.join(overloads)})")
        parts = [self.node(a) for a in args]
        closures = [p[0] for p in parts]
        if fn in ("matches",) and parts[1][1] is not _NO_VALUE and isinstance(parts[1][1], str):
            with contextlib.suppress(CelError):  # an invalid constant pattern errs at run time, as in C++
                rt.regex_check(parts[1][1])
        if len(closures) == 1:
            (a,) = closures
            return (lambda f: op(a(f))), _NO_VALUE
        if len(closures) == 2:
            a, b = closures
            if fn == "_==_" and self._same_simple(args):
                return (lambda f: a(f) == b(f)), _NO_VALUE
            if fn == "_!=_" and self._same_simple(args):
                return (lambda f: a(f) != b(f)), _NO_VALUE
            return (lambda f: op(a(f), b(f))), _NO_VALUE
        if len(closures) == 3:
            a, b, c = closures
            return (lambda f: op(a(f), b(f), c(f))), _NO_VALUE
        raise Unsupported(f"{fn} with {len(closures)} arguments")

    def _same_simple(self, args: list[Any]) -> bool:
        """Both operands statically strings (or both ints): Python's == is CEL's."""
        kinds = {self.kind(a) for a in args}
        return kinds == {"string"} or kinds == {"int"}

    def registered(self, fn: str, specs: list[Any], args: list[Any], member: bool) -> Closure:
        """A function registered by the engine (detectors, provenance): a direct Python call."""
        overload, impl, params = pick_overload(fn, specs, len(args), member)
        closures = [self.build(a) for a in args]
        checks = []
        for i, (param, arg) in enumerate(zip(params, args, strict=True)):
            if param == "list_string" and i in self.sets.get(overload, ()):
                param = "string_set"
            check = _PARAM_CHECKS.get(param)
            if check is None:
                raise Unsupported(f"parameter type {param} of {fn}")
            static = self.kind(arg)
            # A statically exact string/int/double/bool needs no check at run time.
            checks.append(None if _PARAM_KINDS.get(param) == static else check)

        def run(*values: Any) -> Any:
            try:
                return impl(*values)
            except (CelError, Fallback):
                raise
            except Exception as exc:  # a function that failed: an error value, as in the C++ runtime
                raise CelError(f"UNKNOWN: {exc}") from None

        if not any(checks):
            if len(closures) == 0:
                return lambda f: run()
            if len(closures) == 1:
                (a,) = closures
                return lambda f: run(a(f))
            if len(closures) == 2:
                a, b = closures
                return lambda f: run(a(f), b(f))
        pairs = list(zip(closures, checks, strict=True))
        return lambda f: run(*[c(f) if check is None else check(c(f)) for c, check in pairs])

    # -- literals

    def list_(self, expr: Any) -> tuple[Closure, Any]:
        lst = expr.list_expr
        if lst.optional_indices:
            raise Unsupported("optional list elements")
        parts = [self.node(e) for e in lst.elements]
        if all(v is not _NO_VALUE for _, v in parts):
            # A constant list is built once; nothing in these closures mutates a list value.
            value = [v for _, v in parts]
            return (lambda f: value), value
        closures = [c for c, _ in parts]
        return (lambda f: [c(f) for c in closures]), _NO_VALUE

    def struct(self, expr: Any) -> tuple[Closure, Any]:
        st = expr.struct_expr
        if st.message_name:
            raise Unsupported(f"message construction {st.message_name}")
        entries = []
        for entry in st.entries:
            if entry.optional_entry or not entry.HasField("map_key"):
                raise Unsupported("optional or field entries in a map literal")
            entries.append((self.node(entry.map_key), self.node(entry.value)))
        keys = [k[1] for k, _ in entries]
        if all(type(k) is str for k in keys) and len(set(keys)) == len(keys):
            if all(v[1] is not _NO_VALUE for _, v in entries):
                value = {k[1]: v[1] for k, v in entries}
                return (lambda f: value), value
            pairs = [(k[1], v[0]) for k, v in entries]
            return (lambda f: {k: v(f) for k, v in pairs}), _NO_VALUE
        closures = [(k[0], v[0]) for k, v in entries]

        def build_map(f: dict[Any, Any]) -> dict[Any, Any]:
            out: dict[Any, Any] = {}
            for kc, vc in closures:
                key = kc(f)
                if type(key) is not str or key in out:
                    raise Fallback("a map literal with non-string or repeated keys")
                out[key] = vc(f)
            return out

        return build_map, _NO_VALUE

    # -- comprehensions (every macro: all, exists, exists_one, map, filter, cel.bind)

    def comprehension(self, expr: Any) -> Closure:
        comp = expr.comprehension_expr
        if comp.iter_var2:
            raise Unsupported("two-variable comprehension")
        iter_range = self.build(comp.iter_range)
        self.locals += 1
        n = self.locals
        accu_key = f"{n}:{comp.accu_var}"
        iter_key = f"{n}:{comp.iter_var}"
        accu_init = self.build(comp.accu_init)
        self.scopes.append({comp.accu_var: accu_key, comp.iter_var: iter_key})
        try:
            cond = self.build(comp.loop_condition)
            step = self.build(comp.loop_step)
        finally:
            self.scopes.pop()
        self.scopes.append({comp.accu_var: accu_key})
        try:
            result = self.build(comp.result)
        finally:
            self.scopes.pop()
        # Iterating a map visits its keys in an order the C++ runtime does not share with Python;
        # only accumulators whose result cannot depend on that order (bool, int: all, exists,
        # exists_one) may run here.
        order_free = self.kind(comp.accu_init) in ("bool", "int")
        lists = rt.LISTS
        unordered = rt.Unordered
        catch = _catch

        def run(f: dict[Any, Any]) -> Any:
            items = iter_range(f)
            t = type(items)
            in_map_order = t is dict or t is unordered
            if not in_map_order and t not in lists:
                if t in (bool, int, float, str, bytes, type(None)):
                    raise CelError(f"expression of type '{rt.type_name(items)}' cannot be the range of a comprehension")
                raise Fallback(f"comprehension over {t.__name__}")
            f[accu_key] = catch(accu_init, f)
            if items:
                for item in items:
                    # Counted as the C++ runtime counts: every element taken from the range, the
                    # one whose loop condition stops the loop too; the 10,000th is refused.
                    count = f[BUDGET] + 1
                    if count >= ITERATION_BUDGET:
                        raise CelError(BUDGET_EXCEEDED)
                    f[BUDGET] = count
                    f[iter_key] = item
                    go = cond(f)
                    if go is False:
                        break
                    if go is not True:
                        raise Fallback("a comprehension condition that is not a bool")
                    f[accu_key] = catch(step, f)
            value = result(f)
            if in_map_order and not order_free:
                # map/filter over a map: the same elements as the C++ runtime, in another order.
                if type(value) is list or type(value) is unordered:
                    return unordered(value)
                raise Fallback("an order-dependent comprehension over a map")
            return value

        return run


# ---- special forms: evaluation order and error absorption --------------------------------------


def _and(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    return _absorbing(t.build(args[0]), t.build(args[1]), absorbing=False)


def _or(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    return _absorbing(t.build(args[0]), t.build(args[1]), absorbing=True)


def _absorbing(left: Closure, right: Closure, absorbing: bool) -> Closure:
    """`&&` (absorbing False) and `||` (absorbing True), commutative over errors: the absorbing value
    on either side wins over an error or a non-bool on the other; otherwise the left error wins."""
    z = absorbing  # the value that decides the result alone
    no_overload = rt.no_overload
    name = "_||_" if absorbing else "_&&_"

    def op(f: dict[Any, Any]) -> Any:
        try:
            a = left(f)
        except CelError as exc:
            a = exc
        if a is z:
            return z
        try:
            b = right(f)
        except CelError:
            if a is not z and a is not (not z):
                raise a if isinstance(a, CelError) else no_overload(name, a) from None
            raise
        if b is z:
            return z
        if a is not z and a is not (not z):
            raise a if isinstance(a, CelError) else no_overload(name, a)
        if b is not (not z):
            raise no_overload(name, b)  # not a bool: an error whatever its type
        return not z

    return op


def _ternary(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    cond, yes, no = t.build(args[0]), t.build(args[1]), t.build(args[2])

    def ternary(f: dict[Any, Any]) -> Any:
        c = cond(f)
        if c is True:
            return yes(f)
        if c is False:
            return no(f)
        raise rt.no_overload("<jump_condition>", c)

    return ternary


def _not_strictly_false(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    inner = t.build(args[0])

    def nsf(f: dict[Any, Any]) -> Any:
        try:
            return inner(f) is not False
        except CelError:
            return True

    return nsf


def _type(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    inner = t.build(args[0])
    type_of = rt.type_of
    return lambda f: type_of(inner(f))


def _dyn(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    return t.build(args[0])


def _size(t: Transpiler, expr: Any, args: list[Any]) -> Closure:
    inner = t.build(args[0])
    kind = t.kind(args[0])
    if kind in ("string", "list"):
        return lambda f: len(inner(f))
    size = rt.size
    return lambda f: size(inner(f))


def _typed(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise Fallback(f"a function argument of {type(value).__name__} where {kind.__name__} is declared")
        return value

    return check


# How a registered function's parameters are handed over: as cel-expr-python passes them.
_PARAM_CHECKS: dict[str, Callable[[Any], Any]] = {
    "string": _typed(str),
    "int": _typed(int),
    "double": _typed(float),
    "bool": _typed(bool),
    "dyn": rt.plain,
    "list_string": lambda v: _strings_list(rt.plain(v)),
    # A list(string) parameter the function reads as a set: a list in map order may go in.
    "string_set": lambda v: _strings_list(list(v) if type(v) is rt.Unordered else rt.plain(v)),
}


def _strings_list(values: Any) -> Any:
    if type(values) is not list or any(type(v) is not str for v in values):
        raise Fallback("a list(string) argument that is not one")
    return values


_PARAM_KINDS = {"string": "string", "int": "int", "double": "double", "bool": "bool"}


_SPECIAL: dict[str, Callable[[Transpiler, Any, list[Any]], Closure]] = {
    "_&&_": _and,
    "_||_": _or,
    "_?_:_": _ternary,
    "@not_strictly_false": _not_strictly_false,
    "not_strictly_false": _not_strictly_false,
    "type": _type,
    "dyn": _dyn,
    "size": _size,
}


def _str_method(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    strings = rt.strings

    def method(*args: Any) -> Any:
        strings(*args)
        return fn(*args)

    method.__name__ = name
    return method


def _split(text: str, sep: str) -> list[str]:
    rt.strings(text, sep)
    if sep == "":
        return list(text) if text else [""]  # as the C++ runtime: "".split("") is [""]
    return text.split(sep)


def _replace(text: str, old: str, new: str) -> str:
    rt.strings(text, old, new)
    if old == "":
        raise Fallback("replace() of an empty string")
    return text.replace(old, new)


def _trim(text: str) -> str:
    raise Fallback("trim(): whitespace classes differ")


def _substring2(text: str, start: int, end: int) -> str:
    if type(text) is not str or type(start) is not int or type(end) is not int:
        raise Fallback("substring() of unusual arguments")
    if 0 <= start <= end <= len(text):
        return text[start:end]
    raise Fallback("substring() out of range")


def _substring1(text: str, start: int) -> str:
    if type(text) is not str or type(start) is not int:
        raise Fallback("substring() of unusual arguments")
    if 0 <= start <= len(text):
        return text[start:]
    raise Fallback("substring() out of range")


def _char_at(text: str, i: int) -> str:
    if type(text) is not str or type(i) is not int:
        raise Fallback("charAt() of unusual arguments")
    if 0 <= i < len(text):
        return text[i]
    if i == len(text):
        return ""
    raise Fallback("charAt() out of range")


_OPERATORS: dict[tuple[str, int], Callable[..., Any]] = {
    ("_==_", 2): rt.equals,
    ("_!=_", 2): lambda a, b: not rt.equals(a, b),
    ("_<_", 2): rt.less,
    ("_<=_", 2): rt.less_equal,
    ("_>_", 2): rt.greater,
    ("_>=_", 2): rt.greater_equal,
    ("_+_", 2): rt.add,
    ("_-_", 2): rt.subtract,
    ("_*_", 2): rt.multiply,
    ("_/_", 2): rt.divide,
    ("_%_", 2): rt.modulo,
    ("-_", 1): rt.negate,
    ("!_", 1): rt.logical_not,
    ("_[_]", 2): rt.index,
    ("@in", 2): rt.contains,
    ("int", 1): rt.to_int,
    ("double", 1): rt.to_double,
    ("string", 1): rt.to_string,
    ("contains", 2): _str_method("contains", lambda s, sub: sub in s),
    ("startsWith", 2): _str_method("startsWith", lambda s, p: s.startswith(p)),
    ("endsWith", 2): _str_method("endsWith", lambda s, p: s.endswith(p)),
    ("matches", 2): rt.matches,
    ("lowerAscii", 1): rt.lower_ascii,
    ("upperAscii", 1): rt.upper_ascii,
    ("split", 2): _split,
    ("replace", 3): _replace,
    ("join", 1): rt.join,
    ("join", 2): rt.join,
    ("indexOf", 2): rt.index_of,
    ("lastIndexOf", 2): rt.last_index_of,
    ("substring", 2): _substring1,
    ("substring", 3): _substring2,
    ("charAt", 2): _char_at,
    ("trim", 1): _trim,
}


def transpile(
    checked: Any, variables: frozenset[str], functions: dict[str, Any], sets: dict[str, tuple[int, ...]] | None = None
) -> tuple[Closure, bool]:
    """(the closure, whether it has comprehensions: their iteration counter is reset per evaluation)."""
    t = Transpiler(checked, variables, functions, sets or {})
    closure = t.build(checked.expr)
    return closure, t.locals > 0

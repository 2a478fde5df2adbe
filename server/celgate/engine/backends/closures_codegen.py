"""The checked CEL tree as the source of one Python function: the closures backend's fast tier.

A closure tree costs one Python call per CEL node; here a whole expression is one function whose
body inlines what Python does exactly as CEL (string and int comparisons, field reads of typed
messages, `in` on typed lists, `&&` over operands that cannot fail), keeps comprehension variables
in Python locals and loops, and calls the `closures_runtime` operators everywhere else. Semantics
are those of `closures_compile` (the closure tree), which remains the tier below: anything this
generator does not handle raises `Unsupported`, and the backend then uses the tree.

Each node becomes (statements, expression, safe): the statements run first, in order, then the
expression gives the value; `safe` means the node can raise no CEL error (it may still raise
`Fallback` or a Python error, which are never absorbed). Statements of an operand that CEL may not
evaluate (the right side of `&&`, a ternary's branches, a comprehension's body) stay inside the
branch that evaluates it.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from google.protobuf import descriptor_pool

from celgate.engine.backends import closures_runtime as rt
from celgate.engine.backends.base import BUDGET_EXCEEDED, ITERATION_BUDGET
from celgate.engine.backends.closures_compile import (
    _DIRECT,
    _OPERATORS,
    _PARAM_CHECKS,
    _PARAM_KINDS,
    _SPECIAL,
    Unsupported,
    _type_kind,
    dyn_select,
    pick_overload,
)
from celgate.engine.backends.closures_runtime import CelError, ErrorValue, Fallback

_SIMPLE = {"string", "int", "bool"}
_COMPARE = {"_==_": "==", "_!=_": "!=", "_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">="}
_GLOBAL_PATH = re.compile(r"g_\w+(?:\.\w+)+")  # kinds whose Python == and < are CEL's
_NO_VALUE = object()


class _Node:
    __slots__ = ("const", "expr", "safe", "stmts")

    def __init__(self, stmts: list[str], expr: str, safe: bool, const: Any = _NO_VALUE) -> None:
        self.stmts = stmts
        self.expr = expr
        self.safe = safe
        self.const = const


def _indent(lines: list[str], by: int = 1) -> list[str]:
    pad = "    " * by
    return [pad + line for line in lines]


class Generator:
    def __init__(
        self, checked: Any, variables: frozenset[str], functions: dict[str, Any], sets: dict[str, tuple[int, ...]]
    ) -> None:
        self.refs = checked.reference_map
        self.types = checked.type_map
        self.variables = variables
        self.functions = functions
        self.sets = sets
        self.pool = descriptor_pool.Default()
        self.names: dict[str, Any] = {
            "CelError": CelError,
            "Fallback": Fallback,
            "EV": ErrorValue,
            "rt": rt,
            "dyn_select": dyn_select,
            "UNORDERED": rt.Unordered,
            "LISTS": frozenset(rt.LISTS),
            "BUDGET": ITERATION_BUDGET,
            "BUDGET_EXCEEDED": BUDGET_EXCEEDED,
        }
        self.counter = 0
        self.cached: dict[str, str] = {}  # a Struct field read from a variable -> its converted local
        self.globals_used: set[str] = set()
        self.scopes: list[dict[str, tuple[str, bool]]] = []  # CEL name -> (Python local, may hold an error)

    def fresh(self, stem: str = "t") -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def const(self, value: Any) -> str:
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        name = self.fresh("K")
        self.names[name] = value
        return name

    def kind(self, expr: Any) -> str:
        t = self.types.get(expr.id)
        return "dyn" if t is None else _type_kind(t)

    # -- nodes

    def node(self, expr: Any) -> _Node:
        kind = expr.WhichOneof("expr_kind")
        if kind == "const_expr":
            return self.constant(expr.const_expr)
        if kind == "ident_expr":
            return self.ident(expr)
        if kind == "select_expr":
            return self.select(expr)
        if kind == "call_expr":
            return self.call(expr)
        if kind == "list_expr":
            return self.list_(expr)
        if kind == "struct_expr":
            return self.struct(expr)
        if kind == "comprehension_expr":
            return self.comprehension(expr)
        raise Unsupported(f"expression kind {kind}")

    def constant(self, const: Any) -> _Node:
        which = const.WhichOneof("constant_kind")
        values = {
            "null_value": lambda: None,
            "bool_value": lambda: const.bool_value,
            "int64_value": lambda: const.int64_value,
            "double_value": lambda: const.double_value,
            "string_value": lambda: const.string_value,
            "bytes_value": lambda: const.bytes_value,
        }
        if which not in values:
            raise Unsupported(f"constant {which}")
        value = values[which]()
        return _Node([], self.const(value), True, value)

    def ident(self, expr: Any) -> _Node:
        ref = self.refs.get(expr.id)
        name = ref.name if ref is not None and ref.name else expr.ident_expr.name
        if ref is not None and ref.HasField("value"):
            raise Unsupported(f"constant identifier {name}")
        for scope in reversed(self.scopes):
            if name in scope:
                local, may_err = scope[name]
                if may_err:
                    return _Node([], f"({local} if {local}.__class__ is not EV else rt.raise_error({local}))", False)
                return _Node([], local, True)
        if name in rt.TYPES and name not in self.variables:
            return _Node([], self.const(rt.TYPES[name]), True)
        if name not in self.variables:
            raise Unsupported(f"identifier {name}")
        self.globals_used.add(name)
        return _Node([], f"g_{name}", True)

    def select(self, expr: Any) -> _Node:
        sel = expr.select_expr
        if expr.id in self.refs:
            raise Unsupported("a qualified name")
        op = self.node(sel.operand)
        name, test_only = sel.field, sel.test_only
        kind = self.kind(sel.operand)
        if kind.startswith("message:"):
            message = kind.split(":", 1)[1]
            if message == "google.protobuf.Struct":
                if test_only:
                    return _Node(op.stmts, f"({name!r} in {op.expr})", op.safe)
                return _Node(op.stmts, f"rt.index({op.expr}, {name!r})", False)
            if not message.startswith("celgate.v1."):
                raise Unsupported(f"selection on {message}")
            return self.field(op, self.pool.FindMessageTypeByName(message), name, test_only)
        if kind in ("map", "dyn"):
            t = self.fresh("w")
            if test_only:
                fast = f"({name!r} in {t} if ({t} := {op.expr}).__class__ is dict else dyn_select({t}, {name!r}, True))"
                return _Node(op.stmts, fast, False)
            fast = f"({t}[{name!r}] if ({t} := {op.expr}).__class__ is dict and {name!r} in {t} "
            fast += f"else dyn_select({t}, {name!r}, False))"
            return _Node(op.stmts, fast, False)
        raise Unsupported(f"selection on {kind}")

    def field(self, op: _Node, desc: Any, name: str, test_only: bool) -> _Node:
        field = desc.fields_by_name.get(name)
        if field is None or not name.isidentifier():
            raise Unsupported(f"no field {name} in {desc.full_name}")
        sub = field.message_type
        if sub is not None and sub.GetOptions().map_entry:
            raise Unsupported(f"map field {name}")
        read = f"{op.expr}.{name}"
        if test_only:
            if field.is_repeated:
                return _Node(op.stmts, f"(len({read}) > 0)", op.safe)
            if sub is not None or field.has_presence:
                return _Node(op.stmts, f"{op.expr}.HasField({name!r})", op.safe)
            return _Node(op.stmts, f"({read} != {self.const(field.default_value)})", op.safe)
        if field.is_repeated:
            if (sub is None and field.type not in _DIRECT) or (
                sub is not None and sub.full_name.startswith("google.protobuf.")
            ):
                raise Unsupported(f"repeated field {name}")
            return _Node(op.stmts, read, op.safe)
        if sub is not None:
            if sub.full_name == "google.protobuf.Struct":
                if _GLOBAL_PATH.fullmatch(read):  # the same message all evaluation long: convert once
                    cached = self.cached.get(read)
                    if cached is None:
                        cached = self.cached[read] = self.fresh("s")
                    expr = f"({cached} if {cached} is not None else ({cached} := rt.struct_to_dict({read})))"
                    return _Node(op.stmts, expr, False)
                return _Node(op.stmts, f"rt.struct_to_dict({read})", False)  # a Value with no kind
            if sub.full_name.startswith("google.protobuf."):
                raise Unsupported(f"well-known field {name}")
            return _Node(op.stmts, read, op.safe)
        if field.type not in _DIRECT:
            raise Unsupported(f"field {name} of type {field.type}")
        return _Node(op.stmts, read, op.safe)

    # -- calls

    def call(self, expr: Any) -> _Node:
        call = expr.call_expr
        fn = call.function
        ref = self.refs.get(expr.id)
        overloads = list(ref.overload_id) if ref is not None else []
        args = ([call.target] if call.HasField("target") else []) + list(call.args)
        if fn == "_&&_":
            return self.logic(args, absorbing=False)
        if fn == "_||_":
            return self.logic(args, absorbing=True)
        if fn == "_?_:_":
            return self.ternary(args)
        if fn in ("@not_strictly_false", "not_strictly_false"):
            inner = self.node(args[0])
            if inner.safe:
                return _Node(inner.stmts, f"({inner.expr} is not False)", True)
            out = self.fresh()
            lines = ["try:", *_indent([*inner.stmts, f"{out} = {inner.expr} is not False"])]
            lines += ["except CelError:", f"    {out} = True"]
            return _Node(lines, out, True)
        if fn == "dyn" and len(args) == 1:
            return self.node(args[0])
        if fn in _SPECIAL and fn not in ("type", "size"):
            raise Unsupported(f"special form {fn}")
        own = [(o, *self.functions[o]) for o in overloads if o in self.functions]
        if own:
            return self.registered(fn, own, args, call.HasField("target"))
        parts = [self.node(a) for a in args]
        stmts = [s for p in parts for s in p.stmts]
        exprs = [p.expr for p in parts]
        safe = all(p.safe for p in parts)
        kinds = [self.kind(a) for a in args]
        if fn == "type" and len(args) == 1:
            return _Node(stmts, f"rt.type_of({exprs[0]})", False)
        if fn == "size" and len(args) == 1:
            if kinds[0] in ("string", "list"):
                return _Node(stmts, f"len({exprs[0]})", safe)
            return _Node(stmts, f"rt.size({exprs[0]})", False)
        if len(args) == 2 and fn in _COMPARE and kinds[0] == kinds[1] and kinds[0] in _SIMPLE:
            return _Node(stmts, f"({exprs[0]} {_COMPARE[fn]} {exprs[1]})", safe)
        if fn == "@in" and kinds[0] == "string" and kinds[1] in ("list", "map"):
            return _Node(stmts, f"({exprs[0]} in {exprs[1]})", safe)
        if fn == "@in" and kinds[0] == "string":
            # A string is in a dict or a list exactly when Python says so (it equals only strings).
            t = self.fresh("w")
            fast = f"({exprs[0]} in {t} if ({t} := {exprs[1]}).__class__ is dict or {t}.__class__ is list "
            return _Node(stmts, fast + f"else rt.contains({exprs[0]}, {t}))", False)
        if fn in ("_==_", "_!=_") and "string" in kinds and kinds[0] != kinds[1]:
            # A value against a string: equal exactly when it is that string (CEL's equality of
            # different kinds is false); anything but a str takes the full equality.
            known, other = (exprs[0], exprs[1]) if kinds[0] == "string" else (exprs[1], exprs[0])
            t = self.fresh("w")
            eq = f"(({t} == {known}) if ({t} := {other}).__class__ is str else rt.equals({t}, {known}))"
            return _Node(stmts, eq if fn == "_==_" else f"(not {eq})", False)
        if fn == "!_" and kinds[0] == "bool":
            return _Node(stmts, f"(not {exprs[0]})", safe)
        if fn == "_+_" and kinds == ["string", "string"]:
            return _Node(stmts, f"({exprs[0]} + {exprs[1]})", safe)
        if fn in ("_+_", "_-_") and kinds == ["int", "int"]:
            t = self.fresh("w")
            py = "+" if fn == "_+_" else "-"
            check = f"-9223372036854775808 <= ({t} := {exprs[0]} {py} {exprs[1]}) <= 9223372036854775807"
            return _Node(stmts, f"({t} if {check} else rt.overflow())", False)
        op = _OPERATORS.get((fn, len(args)))
        if op is None:
            raise Unsupported(f"function {fn}/{len(args)}")
        if fn == "matches" and isinstance(parts[1].const, str):
            with contextlib.suppress(CelError):  # an invalid constant pattern errs at run time, as in C++
                rt.regex_check(parts[1].const)
        name = self.fresh("op")
        self.names[name] = op
        return _Node(stmts, f"{name}({', '.join(exprs)})", False)

    def registered(self, fn: str, specs: list[Any], args: list[Any], member: bool) -> _Node:
        overload, impl, params = pick_overload(fn, specs, len(args), member)
        parts = [self.node(a) for a in args]
        stmts = [s for p in parts for s in p.stmts]
        exprs = []
        for i, (param, arg, part) in enumerate(zip(params, args, parts, strict=True)):
            if param == "list_string" and i in self.sets.get(overload, ()):
                param = "string_set"
            check = _PARAM_CHECKS.get(param)
            if check is None:
                raise Unsupported(f"parameter type {param} of {fn}")
            if _PARAM_KINDS.get(param) == self.kind(arg):
                exprs.append(part.expr)
            else:
                name = self.fresh("chk")
                self.names[name] = check
                exprs.append(f"{name}({part.expr})")

        def run(*values: Any, impl: Any = impl) -> Any:
            try:
                return impl(*values)
            except (CelError, Fallback):
                raise
            except Exception as exc:  # a function that failed: an error value, as in the C++ runtime
                raise CelError(f"UNKNOWN: {exc}") from None

        name = self.fresh("fn")
        self.names[name] = run
        return _Node(stmts, f"{name}({', '.join(exprs)})", False)

    # -- evaluation order and absorption

    def logic(self, args: list[Any], absorbing: bool) -> _Node:
        left, right = self.node(args[0]), self.node(args[1])
        lk, rk = self.kind(args[0]), self.kind(args[1])
        py = "or" if absorbing else "and"
        if left.safe and lk == "bool" and rk == "bool" and not right.stmts:
            # The left is a bool that cannot fail: Python's short circuit is CEL's.
            return _Node(left.stmts, f"({left.expr} {py} {right.expr})", right.safe)
        z, nz = repr(absorbing), repr(not absorbing)
        a, b, out = self.fresh(), self.fresh(), self.fresh()
        lines: list[str] = []
        if left.safe:
            lines += [*left.stmts, f"{a} = {left.expr}"]
        else:
            lines += ["try:", *_indent([*left.stmts, f"{a} = {left.expr}"]), "except CelError as e:", f"    {a} = e"]
        lines += [f"if {a} is {z}:", f"    {out} = {z}", "else:"]
        inner = [*right.stmts, f"{b} = {right.expr}"]
        inner += [f"if {b} is {z}:", f"    {out} = {z}"]
        inner += [f"elif {a} is {nz} and {b} is {nz}:", f"    {out} = {nz}"]
        inner += ["else:", f"    raise rt.logic_error({py!r}, {a}, {b})"]
        lines += _indent(inner)
        return _Node(lines, out, False)

    def ternary(self, args: list[Any]) -> _Node:
        cond, yes, no = self.node(args[0]), self.node(args[1]), self.node(args[2])
        if self.kind(args[0]) == "bool" and not yes.stmts and not no.stmts:
            return _Node(cond.stmts, f"({yes.expr} if {cond.expr} else {no.expr})", cond.safe and yes.safe and no.safe)
        c, out = self.fresh(), self.fresh()
        lines = [*cond.stmts, f"{c} = {cond.expr}"]
        lines += [f"if {c} is True:", *_indent([*yes.stmts, f"{out} = {yes.expr}"])]
        lines += [f"elif {c} is False:", *_indent([*no.stmts, f"{out} = {no.expr}"])]
        lines += ["else:", f"    raise rt.no_overload('<jump_condition>', {c})"]
        return _Node(lines, out, False)

    # -- literals

    def list_(self, expr: Any) -> _Node:
        lst = expr.list_expr
        if lst.optional_indices:
            raise Unsupported("optional list elements")
        parts = [self.node(e) for e in lst.elements]
        if all(p.const is not _NO_VALUE for p in parts):
            value = [p.const for p in parts]
            return _Node([], self.const(value), True, value)
        stmts = [s for p in parts for s in p.stmts]
        return _Node(stmts, "[" + ", ".join(p.expr for p in parts) + "]", all(p.safe for p in parts))

    def struct(self, expr: Any) -> _Node:
        st = expr.struct_expr
        if st.message_name:
            raise Unsupported(f"message construction {st.message_name}")
        keys, values = [], []
        for entry in st.entries:
            if entry.optional_entry or not entry.HasField("map_key"):
                raise Unsupported("optional or field entries in a map literal")
            keys.append(self.node(entry.map_key))
            values.append(self.node(entry.value))
        consts = [k.const for k in keys]
        if not all(type(k) is str for k in consts) or len(set(consts)) != len(consts):
            raise Unsupported("a map literal with computed or repeated keys")
        stmts = [s for v in values for s in v.stmts]
        body = ", ".join(f"{k.expr}: {v.expr}" for k, v in zip(keys, values, strict=True))
        return _Node(stmts, "{" + body + "}", all(v.safe for v in values))

    def comprehension(self, expr: Any) -> _Node:
        comp = expr.comprehension_expr
        if comp.iter_var2:
            raise Unsupported("two-variable comprehension")
        rng = self.node(comp.iter_range)
        init = self.node(comp.accu_init)
        accu, item = self.fresh("a_"), self.fresh("i_")
        lines: list[str] = [*rng.stmts]
        if init.safe:
            setup = [*init.stmts, f"{accu} = {init.expr}"]
        else:
            setup = ["try:", *_indent([*init.stmts, f"{accu} = {init.expr}"])]
            setup += ["except CelError as e:", f"    {accu} = EV(e)"]
        empty = rng.const is not _NO_VALUE and rng.const == []
        if empty:  # cel.bind: no loop, the accumulator is the bound value
            lines += setup
            self.scopes.append({comp.accu_var: (accu, not init.safe)})
            try:
                result = self.node(comp.result)
            finally:
                self.scopes.pop()
            lines += result.stmts
            return _Node(lines, result.expr, result.safe and init.safe)
        order_free = self.kind(comp.accu_init) in ("bool", "int")
        r, mapped, out = self.fresh(), self.fresh("m"), self.fresh()
        lines += [f"{r} = {rng.expr}", f"{mapped} = {r}.__class__ is dict or {r}.__class__ is UNORDERED"]
        lines += [f"if not {mapped} and {r}.__class__ not in LISTS:", f"    rt.bad_range({r})"]
        lines += setup
        self.scopes.append({comp.accu_var: (accu, True), comp.iter_var: (item, False)})
        try:
            cond = self.node(comp.loop_condition)
            step = self.node(comp.loop_step)
        finally:
            self.scopes.pop()
        body = ["n += 1", "if n >= BUDGET:", "    raise CelError(BUDGET_EXCEEDED)"]
        go = self.fresh()
        body += [*cond.stmts, f"{go} = {cond.expr}"]
        body += [f"if {go} is False:", "    break", f"if {go} is not True:", "    raise Fallback('a loop condition')"]
        if step.safe:
            body += [*step.stmts, f"{accu} = {step.expr}"]
        else:
            body += ["try:", *_indent([*step.stmts, f"{accu} = {step.expr}"])]
            body += ["except CelError as e:", f"    {accu} = EV(e)"]
        lines += [f"for {item} in {r}:", *_indent(body)]
        self.scopes.append({comp.accu_var: (accu, True)})
        try:
            result = self.node(comp.result)
        finally:
            self.scopes.pop()
        lines += [*result.stmts, f"{out} = {result.expr}"]
        if not order_free:
            lines += [f"if {mapped}:", f"    {out} = rt.in_map_order({out})"]
        return _Node(lines, out, False)


def generate(
    checked: Any, variables: frozenset[str], functions: dict[str, Any], sets: dict[str, tuple[int, ...]] | None = None
) -> Any:
    """The Python function evaluating `checked` over an activation dict; raises Unsupported."""
    gen = Generator(checked, variables, functions, sets or {})
    root = gen.node(checked.expr)
    lines = ["def cel(f):", "    n = 0"]
    lines += [f"    g_{name} = f[{name!r}]" for name in sorted(gen.globals_used)]
    lines += [f"    {local} = None" for local in gen.cached.values()]
    lines += _indent(root.stmts)
    lines += [f"    return {root.expr}"]
    source = "\n".join(lines)
    namespace = dict(gen.names)
    try:
        code = compile(source, "<cel>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as exc:  # nesting beyond Python's limits
        raise Unsupported(f"generated code does not compile: {exc.__class__.__name__}") from None
    exec(code, namespace)
    fn = namespace["cel"]
    fn.source = source
    return fn

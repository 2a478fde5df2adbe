"""The closures backend: CEL compiled to Python closures that evaluate over plain Python values.

Why: cel-expr-python converts every bound Python value into the C++ runtime for each activation
(100-150 µs a decision here, most of the engine's cost) and every detector or provenance call
crosses from C++ back into Python (20-100 µs a decision). Here nothing is converted: the request's
protobuf messages, the bundle's `data` dicts and the detectors' results are read where they lie,
and registered functions are plain Python calls.

How it stays exactly CEL:

- every expression is compiled, and type-checked, by cel-expr-python first (same compile errors,
  same line:column), then its *checked* tree (`Expression.serialize()`, see `celast`) is transpiled
  (`closures_compile`); so the closures never see an expression the C++ checker refused;
- an expression the transpiler does not fully understand keeps the C++ program (a compile-time
  fallback, counted in `fallbacks` and logged), and an operator meeting a value it does not
  reproduce exactly hands that one evaluation to the C++ runtime (`Fallback`, counted in
  `runtime_fallbacks`), which builds its activation from the same bindings on first need;
- both are differential-tested against the C++ runtime (tests/unit/engine/test_closures*.py).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from celgate.engine.backends import closures_runtime as rt
from celgate.engine.backends.base import (
    EMPTY_DOCUMENT,
    LIST_VARIABLES,
    VARIABLE_NAMES,
    Backend,
    EvalError,
    FunctionSpec,
    Kind,
)
from celgate.engine.backends.celast import checked_expr
from celgate.engine.backends.closures_codegen import generate
from celgate.engine.backends.closures_compile import BUDGET, Unsupported, transpile
from celgate.engine.backends.closures_runtime import CelError, Fallback
from celgate.engine.backends.cpp import _CONVERT, CppBackend
from celgate.engine.scope import memoised
from celgate.v1 import decision_pb2 as pb

log = logging.getLogger("celgate.engine")

_REQUEST = 1  # activation keys beside the variables: the request (for `context` in a fallback)
_CPP = 2  # the C++ activation, built on the first fallback of this activation
_CONTAINERS = (rt.RepeatedScalarContainer, rt.RepeatedCompositeContainer)
# list(string) parameters that registered functions read as sets (provenance's `skip`: the names of
# free-content arguments), so a list built from a map may be passed in whatever order it has.
# tests/unit/engine/test_closures.py checks that each result is the same for every order.
ORDER_FREE_PARAMS: dict[str, tuple[int, ...]] = {
    "untrusted_args_dyn_list": (1,),
    "user_named_args_dyn_list": (1,),
    "injected_args_dyn_list": (1,),
}


class _Program:
    __slots__ = ("closure", "cpp", "fresh", "source", "warned")

    def __init__(self, closure: Any, cpp: Any, fresh: bool, source: str) -> None:
        self.warned = False
        self.closure = closure  # None: evaluated by the C++ runtime (see ClosuresBackend.fallbacks)
        self.cpp = cpp
        self.fresh = fresh  # has comprehensions: its iteration counter is reset per evaluation
        self.source = source


class _OddData:
    """`data` (or `vars`) holding values the closures would not read exactly as the C++ runtime
    does (an int beyond int64 binds as a uint there, a YAML date, a non-string key, a timestamp it
    cannot bind inside a map): every use of it is handed to the C++ runtime."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def _refuse(self, *_: Any) -> Any:
        raise Fallback("data or vars the closures do not read")

    __contains__ = __len__ = __iter__ = __getitem__ = _refuse


class ClosuresBackend(Backend):
    name = "closures"
    supports_fusion = True
    # `data` is read in place, never converted, so it is bound whole: no per-request cutting.
    per_request_data = False
    type_checked = True

    codegen_enabled = True  # the generated-code tier; tests turn it off to run the closure tree alone

    def __init__(self, functions: list[FunctionSpec], *, codegen: bool | None = None) -> None:
        self.codegen = self.codegen_enabled if codegen is None else codegen
        # Type-checks every expression, and evaluates what the closures leave to it.
        self.cpp = CppBackend(functions)
        self.results = self.cpp.results  # pure functions' results, shared by both paths
        self.functions: dict[str, Any] = {}
        for spec in functions:
            impl = memoised(
                spec.overload_id,
                spec.impl,
                _CONVERT[spec.returns],
                self.results if spec.pure else None,
                len(spec.params),
            )
            self.functions[spec.overload_id] = (len(spec.params), spec.member, impl, spec.params)
        self.fallbacks: dict[str, str] = {}  # source -> why the C++ runtime evaluates it
        self.tree: dict[str, str] = {}  # source -> why it runs as a closure tree, not generated code
        self.runtime_fallbacks: Counter[str] = Counter()  # why an evaluation was handed over
        self._lock = threading.Lock()

    def compile(self, source: str, kind: Kind) -> Any:
        program = self.cpp.compile(source, kind)  # raises CelCompileError, line:column as before
        try:
            checked = checked_expr(program.serialize())
        except ValueError as exc:
            self.fallbacks[source] = str(exc)
            return _Program(None, program, False, source)
        if self.codegen:
            try:
                function = generate(checked, VARIABLE_NAMES, self.functions, ORDER_FREE_PARAMS)
                return _Program(function, program, False, source)
            except (Unsupported, RecursionError) as exc:
                # The closure tree below: slower, same semantics.
                self.tree[source] = str(exc) or type(exc).__name__
        try:
            closure, fresh = transpile(checked, VARIABLE_NAMES, self.functions, ORDER_FREE_PARAMS)
        except (Unsupported, RecursionError) as exc:
            reason = str(exc) or type(exc).__name__
            self.fallbacks[source] = reason
            log.info("CEL expression evaluated by the C++ runtime (%s): %s", reason, source[:200])
            return _Program(None, program, False, source)
        return _Program(closure, program, fresh, source)

    def prepare_data(self, data: Mapping[str, Any]) -> Any:
        plain = dict(data)
        return plain if rt.check_plain(plain) else _OddData(plain)

    def bindings(
        self, request: pb.CheckRequest, names: frozenset[str], data: Any, now: datetime.datetime
    ) -> dict[Any, Any]:
        b: dict[Any, Any] = {_REQUEST: request}
        for name in names:
            if name == "action":
                b[name] = request.action
            elif name in LIST_VARIABLES:
                b[name] = getattr(request, name)
            elif name == "data":
                b[name] = data
            elif name == "now":
                b[name] = now
            elif name == "vars":
                b[name] = {}
            elif name == "document":
                b[name] = EMPTY_DOCUMENT
            elif name == "context":
                b[name] = rt.struct_to_dict(request.context) if request.context.fields else {}
            else:
                b[name] = getattr(request, name)
        return b

    def convert_document(self, document: pb.Document) -> Any:
        return document

    def variables(self, values: dict[str, Any]) -> Any:
        out = dict(values)
        # cel-expr-python cannot bind a timestamp or duration inside a map ("Non-CEL value type"),
        # so there such `vars` make every use an error: leave those uses to it.
        return out if all(_bindable(v) for v in out.values()) else _OddData(out)

    def activation(self, bindings: dict[Any, Any]) -> Any:
        act = dict(bindings)
        act[BUDGET] = 0
        return act

    def evaluate(self, program: Any, activation: Any) -> Any:
        closure = program.closure
        if closure is None:
            return self._cpp(program, activation)
        if program.fresh:
            activation[BUDGET] = 0
        try:
            value = closure(activation)
        except CelError as exc:
            return EvalError(exc.message)
        except Fallback as exc:
            return self._handed_over(program, activation, str(exc))
        except RecursionError:
            return self._handed_over(program, activation, "nesting too deep for Python")
        except Exception as exc:  # a gap in the closures, never an answer of theirs: C++ decides
            if not program.warned:  # once per expression, not per request
                program.warned = True
                log.warning(
                    "closures backend: %s on %r; evaluated by the C++ runtime",
                    exc.__class__.__name__,
                    program.source[:200],
                )
            # The class only: an exception's text may hold request content (logs never do).
            return self._handed_over(program, activation, f"unexpected {exc.__class__.__name__}")
        t = type(value)
        if t is bool or t is int or t is str or t is float or t is type(None):
            return value
        if t is list or t is rt.Unordered:
            return value
        if t in _CONTAINERS:
            return list(value)
        if t is dict:
            return value
        return self._handed_over(program, activation, f"a result of type {t.__name__}")

    def _handed_over(self, program: _Program, activation: dict[Any, Any], reason: str) -> Any:
        with self._lock:
            if reason not in self.runtime_fallbacks and len(self.runtime_fallbacks) >= 256:
                reason = "other"  # bounded: reasons name types and operators, never values
            self.runtime_fallbacks[reason] += 1
        log.debug("CEL evaluation handed to the C++ runtime: %s", reason)
        return self._cpp(program, activation)

    def _cpp(self, program: _Program, activation: dict[Any, Any]) -> Any:
        cpp_activation = activation.get(_CPP)
        if cpp_activation is None:
            cpp_activation = activation[_CPP] = self.cpp.activation(_cpp_bindings(activation))
        return self.cpp.evaluate(program.cpp, cpp_activation)


def _cpp_bindings(activation: dict[Any, Any]) -> dict[str, Any]:
    """The activation's variables as the C++ backend binds them."""
    out: dict[str, Any] = {}
    request = activation.get(_REQUEST)
    for name, value in activation.items():
        if type(name) is not str or ":" in name or name not in VARIABLE_NAMES:
            continue  # bookkeeping and comprehension variables
        if name == "context" and request is not None and request.context.fields:
            out[name] = request.context
        elif type(value) is _OddData:
            out[name] = value.data
        else:
            out[name] = _to_cpp(value)
    return out


def _bindable(value: Any) -> bool:
    t = type(value)
    if t is datetime.datetime or t is datetime.timedelta:
        return False
    if t is list or t is rt.Unordered or t in _CONTAINERS:
        return all(_bindable(v) for v in value)
    if t is dict:
        return all(_bindable(v) for v in value.values())
    return True


def _to_cpp(value: Any) -> Any:
    t = type(value)
    if t in _CONTAINERS:
        return [_to_cpp(v) for v in value]
    if t is list or t is rt.Unordered:
        return [_to_cpp(v) for v in value]
    if t is dict:
        return {k: _to_cpp(v) for k, v in value.items()}
    return value

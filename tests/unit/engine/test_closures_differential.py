"""The closures backend against the C++ runtime it must reproduce: values, errors, decisions.

Three layers, all differential (the C++ runtime is the oracle; a disagreement is a bypass):

- every test case of every policy repository in the tree decides the same;
- every expression of the shipped library, evaluated rule by rule on realistic requests, gives the
  same value or an error on both;
- seeded random expressions over random values (hypothesis), including the error cases: overflow,
  division by zero, bool against int, missing keys, mixed numbers, comprehensions, absorption.
"""

from __future__ import annotations

import datetime
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import celgate
from celgate.engine import Engine
from celgate.engine.backends import CelCompileError, EvalError, Kind, new_backend
from celgate.engine.backends.closures import ClosuresBackend
from celgate.engine.backends.closures_runtime import Unordered
from celgate.engine.datapaths import select_keyed
from celgate.engine.request import parse_request
from celgate.engine.scope import Scope
from celgate.v1 import decision_pb2 as pb
from tests.unit.engine.test_differential import REQUEST, policy_repos, summary

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "policies"
_UTC = datetime.UTC


class Bag(list):  # type: ignore[type-arg]
    """A list the closures built by iterating a map: the C++ runtime's order is its hash order."""


def plain(value: Any) -> Any:
    """A value in comparable form: containers as lists, messages as themselves, errors as one."""
    if isinstance(value, EvalError):
        return EvalError
    if isinstance(value, Unordered):
        return Bag(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__.startswith("Repeated"):
        return [plain(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    if a is EvalError or b is EvalError:
        return a is b
    if isinstance(a, Bag) or isinstance(b, Bag):  # the same elements, in any order
        return sorted(map(repr, a)) == sorted(map(repr, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("repo", policy_repos(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_test_case_decides_the_same(repo: Path) -> None:
    cpp, closures = celgate.load(repo, backend="cpp"), celgate.load(repo, backend="closures")
    cases = [case for suite in cpp.bundle.suites for case in suite.cases]
    for case in cases:
        a = summary(Engine(cpp.bundle).check(case.request))
        b = summary(Engine(closures.bundle).check(case.request))
        assert a == b, f"{case.name}: cpp {a} != closures {b}"


def test_shipped_library_compiles_to_closures_entirely() -> None:
    """No expression of the shipped library needs the C++ runtime to evaluate it."""
    backend = celgate.load(SHIPPED, backend="closures").bundle.backend
    assert isinstance(backend, ClosuresBackend)
    assert backend.fallbacks == {}


_BUNDLES: dict[str, Any] = {}


def _bundles() -> tuple[Any, Any]:
    if not _BUNDLES:
        _BUNDLES["cpp"] = celgate.load(SHIPPED, backend="cpp").bundle
        _BUNDLES["closures"] = celgate.load(SHIPPED, backend="closures").bundle
        # Each bundle has its own detectors, which build what they need on first use; that first
        # call can outrun the per-decision detector budget on a loaded machine and fail a rule
        # closed on one side only. Warm both on every action first.
        for bundle in _BUNDLES.values():
            for suite in bundle.suites:
                for case in suite.cases:
                    Engine(bundle).check(case.request)
    return _BUNDLES["cpp"], _BUNDLES["closures"]


def _evaluate_library(bundle: Any, req: pb.CheckRequest) -> list[tuple[str, Any]]:
    """Every expression of the action's policies, rule by rule, as (where, plain value)."""
    backend = bundle.backend
    plan = bundle.plans[req.action]
    data = select_keyed(plan.data, plan.keyed_data, req) if plan.keyed_data else plan.data
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_UTC)
    out: list[tuple[str, Any]] = []
    with Scope(budget=60.0):  # every expression of the library in one scope: no detector budget here
        bindings = backend.bindings(req, plan.names, data, now)
        documents = list(req.documents) if any(p.per_document for p in plan.policies) else [None]
        for doc in documents or [None]:
            scoped_base = dict(bindings)
            if doc is not None:
                scoped_base["document"] = backend.convert_document(doc)
            for policy in plan.policies:
                if policy.per_document != (doc is not None):
                    continue
                activation = backend.activation(scoped_base)
                if policy.when is not None:
                    out.append((f"{policy.name}/when", plain(backend.evaluate(policy.when, activation))))
                values: dict[str, Any] = {}
                for name, program, _ in policy.variables:
                    scoped = dict(scoped_base)
                    scoped["vars"] = backend.variables(values)
                    value = backend.evaluate(program, backend.activation(scoped))
                    out.append((f"{policy.name}/vars.{name}", plain(value)))
                    if not isinstance(value, EvalError):
                        values[name] = value
                scoped = dict(scoped_base)
                scoped["vars"] = backend.variables(values)
                activation = backend.activation(scoped)
                for rule in policy.rules:
                    for label, program in (("when", rule.when), ("message", rule.message_expr)):
                        if program is not None:
                            out.append((f"{rule.key}/{label}", plain(backend.evaluate(program, activation))))
    return out


def _realistic_requests() -> list[pb.CheckRequest]:
    cpp, _ = _bundles()
    return [parse_request(case.request) for suite in cpp.suites for case in suite.cases]


def test_every_library_expression_gives_the_same_value_on_the_suites_requests() -> None:
    cpp, closures = _bundles()
    compared = 0
    for req in _realistic_requests():
        a, b = _evaluate_library(cpp, req), _evaluate_library(closures, req)
        assert [w for w, _ in a] == [w for w, _ in b]
        for (where, x), (_, y) in zip(a, b, strict=True):
            assert same(x, y), f"{req.action} {where}: cpp {x!r} != closures {y!r}"
            compared += 1
    assert compared > 1000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(request=REQUEST)
def test_every_library_expression_gives_the_same_value_on_generated_requests(request: dict[str, Any]) -> None:
    cpp, closures = _bundles()
    req = parse_request(request)
    a, b = _evaluate_library(cpp, req), _evaluate_library(closures, req)
    for (where, x), (_, y) in zip(a, b, strict=True):
        assert same(x, y), f"{req.action} {where}: cpp {x!r} != closures {y!r}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(request=REQUEST)
def test_decisions_agree_on_generated_requests(request: dict[str, Any]) -> None:
    cpp, closures = _bundles()
    assert summary(Engine(cpp).check(request)) == summary(Engine(closures).check(request))


# ---- random expressions over random values -------------------------------------------------

_INTS = st.one_of(
    st.integers(-5, 5),
    st.sampled_from([2**63 - 1, -(2**63), 2**62, 2**53, 2**53 + 1, -(2**53) - 1, 1000]),
)
_FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 1.5, -2.5, 1e300, float("inf"), float("nan"), 9.3e18, 2.0**53]),
    st.floats(-100, 100, allow_nan=False),
)
_STRINGS = st.sampled_from(["", "a", "ab", "héllo", "A", "1", "12", "-3", "1.5", "a,b", "x y", "ä", "..", "1e3"])
_SCALARS = st.one_of(st.booleans(), _INTS, _FLOATS, _STRINGS, st.none())
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value) if value != -(2**63) else "-9223372036854775807 - 1"
    if isinstance(value, float):
        if math.isnan(value):
            return "double('NaN')"
        if math.isinf(value):
            return "double('Infinity')" if value > 0 else "double('-Infinity')"
        return repr(value) if "e" in repr(value) or "." in repr(value) else repr(value) + ".0"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}": {_literal(v)}' for k, v in value.items()) + "}"


_BINARY = ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&&", "||", "in"]


def _expressions() -> st.SearchStrategy[str]:
    variables = st.sampled_from(["x", "y", "m", "m.a", "m.b", "x[0]", "y[1]", 'm["c"]', "dyn(x)", "true", "false"])
    leaves = st.one_of(variables, variables, variables, _SCALARS.map(_literal))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["!", "-"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.tuples(
                st.sampled_from(["size", "int", "double", "string", "type", "dyn"]),
                inner,
            ).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(
                inner,
                st.sampled_from(["contains", "startsWith", "endsWith", "matches", "split", "indexOf"]),
                inner,
            ).map(lambda t: f"{t[0]}.{t[1]}({t[2]})"),
            st.tuples(inner, st.sampled_from(["lowerAscii", "upperAscii", "size"])).map(lambda t: f"{t[0]}.{t[1]}()"),
            st.tuples(st.sampled_from(["exists", "all", "exists_one", "map", "filter"]), inner, inner).map(
                lambda t: f"{t[1]}.{t[0]}(i, {_swap(t[2], 'x', 'i')})"
            ),
            st.tuples(inner, inner).map(lambda t: f"cel.bind(z, {t[0]}, {_swap(t[1], 'y', 'z')})"),
            st.sampled_from(["has(m.a)", "has(m.z)", "type(x) == int", "type(m) == map", "x == y", "[x, y]"]),
        )

    return st.recursive(leaves, extend, max_leaves=6)


_RANDOM: dict[str, Any] = {}


def _random_backends() -> tuple[Any, ClosuresBackend]:
    if not _RANDOM:
        _RANDOM["cpp"] = new_backend("cpp", [])
        _RANDOM["closures"] = new_backend("closures", [])
        _RANDOM["tree"] = ClosuresBackend([], codegen=False)
    return _RANDOM["cpp"], _RANDOM["closures"]


def _bind(backend: Any, x: Any, y: Any, m: Any) -> Any:
    # The expressions only read x, y and m (as `context`-like dyn values): bind them as `vars`.
    return backend.activation({"vars": {"x": x, "y": y, "m": m}})


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(expr=_expressions(), x=_VALUES, y=_VALUES, m=st.dictionaries(st.sampled_from(["a", "b", "c"]), _VALUES))
def test_random_expressions_agree(expr: str, x: Any, y: Any, m: dict[str, Any]) -> None:
    cpp, closures = _random_backends()
    source = _rename(expr)
    try:
        program_cpp = cpp.compile(source, Kind.ANY)
    except CelCompileError:
        return  # refused by the checker: the closures backend raises the very same error
    a = plain(cpp.evaluate(program_cpp, _bind(cpp, x, y, m)))
    if type(a).__name__ == "Type":
        return  # type values: compared through `type(x) == int`, not as results
    for tier in (closures, _RANDOM["tree"]):  # the generated code and the closure tree below it
        b = plain(tier.evaluate(tier.compile(source, Kind.ANY), _bind(tier, x, y, m)))
        assert same(a, b), (
            f"{source} with x={x!r} y={y!r} m={m!r}: cpp {a!r} != {(tier.codegen and 'code') or 'tree'} {b!r}"
        )


def _swap(expr: str, name: str, to: str) -> str:
    """The free variable `name` as `to` (the comprehension's or binding's variable)."""
    return re.sub(r'(?<![\w."])' + name + r'(?![\w"])', to, expr)


def _rename(expr: str) -> str:
    """x, y, m as `vars.x`, ...: bound through a map(string, dyn), their types stay open."""
    return re.sub(r"(?<![\w.\"])([xym])(?![\w\"])", r"vars.\1", expr)


# ---- random typed expressions over random requests --------------------------------------------
# The generated code inlines what the checker typed exactly (string and int comparisons, message
# fields, `in` on typed lists, int arithmetic, && over bools that cannot fail): these expressions
# reach those paths, where `vars.x` above is always dyn.

_TYPED_BOOL = [
    'tool.name == "send_email"',
    'tool.name < "m"',
    '"admin" in principal.roles',
    'principal.roles.exists(r, r.startsWith("a"))',
    "has(tool.args.to)",
    "has(tool.description)",
    "has(principal.attributes)",
    '"to" in tool.args',
    'messages.all(m, m.role != "")',
    'messages.exists_one(m, m.role == "user")',
    "size(messages) + size(documents) > 2",
    "size(tool.name) - 3 < 2",
    "tool.args.amount > 10.0",
    'tool.args.to == "x"',
    "tool.args.exists(k, k.size() > 2)",
    'tool.args.filter(k, k != "to").size() == 1',
    'documents.exists(d, d.labels.exists(l, l.startsWith("tenant:")))',
    "int(tool.args.amount) > 5",
    'session.labels.exists(l, l == "untrusted")',
    'response.content.contains("4111")',
    'response.content.matches("[0-9]{4}")',
    "principal.id.size() * 2 == 4",
]
_TYPED_VALUE = [
    "tool.args",
    "messages.map(m, m.role)",
    "messages.filter(m, m.content.size() > 3).size()",
    'principal.roles + ["x"]',
    "tool.args.filter(k, true)",
    'tool.name + ":" + principal.tenant',
    "documents.map(d, d.id)",
    "cel.bind(t, tool.args, t.size())",
    'messages.size() > 0 ? messages[0].content : ""',
    'tool.args["amount"]',
    '{"a": tool.name, "b": principal.roles}',
]


def _typed_expressions() -> st.SearchStrategy[str]:
    booleans = st.recursive(
        st.sampled_from(_TYPED_BOOL),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"!({e})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        ),
        max_leaves=5,
    )
    return st.one_of(booleans, st.sampled_from(_TYPED_VALUE))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(expr=_typed_expressions(), request=REQUEST)
def test_random_typed_expressions_agree(expr: str, request: dict[str, Any]) -> None:
    cpp, closures = _random_backends()
    req = parse_request(request)
    names = frozenset({"tool", "principal", "messages", "documents", "session", "response"})
    now = datetime.datetime(2026, 1, 2, tzinfo=_UTC)
    try:
        program_cpp = cpp.compile(expr, Kind.ANY)
    except CelCompileError:
        return
    a = plain(cpp.evaluate(program_cpp, cpp.activation(cpp.bindings(req, names, {}, now))))
    for tier in (closures, _RANDOM["tree"]):
        program = tier.compile(expr, Kind.ANY)
        assert tier is _RANDOM["tree"] or program.closure is not None, f"{expr} not generated"
        b = plain(tier.evaluate(program, tier.activation(tier.bindings(req, names, {}, now))))
        assert same(a, b), f"{expr} on {request}: cpp {a!r} != {(tier.codegen and 'code') or 'tree'} {b!r}"

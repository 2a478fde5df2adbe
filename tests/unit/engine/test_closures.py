"""The closures backend: CEL semantics case by case against the C++ runtime, and its fallbacks.

Each case names a corner where Python and CEL part ways (bool is not int, C's integer division,
int64 overflow, error absorption in `&&`/`||`, missing keys against proto defaults, map order...);
the C++ runtime's answer is the expected one, value or error.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest

import celgate
from celgate.engine.backends import CelCompileError, EvalError, Kind, new_backend
from celgate.engine.backends.base import BUDGET_EXCEEDED, FunctionSpec
from celgate.engine.backends.closures import ORDER_FREE_PARAMS, ClosuresBackend
from celgate.engine.provenance import PROVENANCE_FUNCTIONS
from celgate.v1 import decision_pb2 as pb
from tests.unit.engine.conftest import policy
from tests.unit.engine.test_closures_differential import plain, same

_BACKENDS: dict[str, Any] = {}


def _upper(text: str) -> str:
    if text == "boom":
        raise ValueError("boom")
    return text.upper()


FUNCTIONS = [FunctionSpec("shout", "string_shout", ("string",), "string", _upper)]


def backends() -> tuple[Any, ClosuresBackend]:
    if not _BACKENDS:
        _BACKENDS["cpp"] = new_backend("cpp", FUNCTIONS)
        _BACKENDS["closures"] = new_backend("closures", FUNCTIONS)
        _BACKENDS["tree"] = ClosuresBackend(FUNCTIONS, codegen=False)
    return _BACKENDS["cpp"], _BACKENDS["closures"]


def tree() -> ClosuresBackend:
    """The closures backend without its generated-code tier: the closure tree it falls back to."""
    backends()
    return _BACKENDS["tree"]


T = pb.ToolCall(name="send", args={"to": "a@b.c", "n": 2, "nested": {"k": [1, "x", None, True]}})
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

# (expression over vars.x, vars.y, tool, principal, now; x; y)
CASES: list[tuple[str, Any, Any]] = [
    ("vars.x == vars.y", 1, 1.0),
    ("vars.x == vars.y", True, 1),
    ("vars.x == vars.y", 1, "1"),
    ("vars.x == vars.y", [1, 2], [1.0, 2.0]),
    ("vars.x == vars.y", {"a": 1}, {"a": 1.0}),
    ("vars.x == vars.y", None, None),
    ("vars.x == vars.y", float("nan"), float("nan")),
    ("vars.x == vars.y", [], {}),
    ("vars.x == vars.y", 2**53 + 1, float(2**53)),
    ("vars.x in vars.y", 1, [1.0]),
    ("vars.x in vars.y", True, [1]),
    ("vars.x in vars.y", "a", ["b", "a"]),
    ("vars.x in vars.y", "a", {"a": 1}),
    ("vars.x in vars.y", 1, {"1": 1}),
    ("vars.y[vars.x]", -1, [5, 6]),
    ("vars.y[vars.x]", 2, [5, 6]),
    ("vars.y[vars.x]", "a", {"b": 1}),
    ("vars.y[vars.x]", 1.0, [5, 6]),
    ("vars.x / vars.y", 7, 0),
    ("vars.x / vars.y", -7, 2),
    ("vars.x % vars.y", -7, 2),
    ("vars.x % vars.y", 7, -2),
    ("vars.x % vars.y", 7, 0),
    ("vars.x / vars.y", 1.0, 0.0),
    ("vars.x / vars.y", -1.0, 0.0),
    ("vars.x / vars.y", -(2**63), -1),
    ("vars.x + vars.y", 2**63 - 1, 1),
    ("vars.x - vars.y", -(2**63) + 1, 2),
    ("vars.x * vars.y", 2**62, 2),
    ("-vars.x", -(2**63), 0),
    ("vars.x + vars.y", 1, 1.0),
    ("vars.x + vars.y", [1], [2]),
    ("vars.x + vars.y", "a", "b"),
    ("vars.x < vars.y", 1, 1.5),
    ("vars.x < vars.y", 1, "a"),
    ("vars.x < vars.y", False, True),
    ("vars.x < vars.y", "b", "ab"),
    ("vars.x <= vars.y", float("nan"), 1.0),
    ("vars.x && vars.y", "a", False),
    ("vars.x && vars.y", False, "a"),
    ("vars.x && vars.y", True, "a"),
    ("vars.x || vars.y", "a", True),
    ("vars.x || vars.y", False, "a"),
    ("(1 / vars.x > 0) && vars.y", 0, False),
    ("vars.y && (1 / vars.x > 0)", 0, False),
    ("(1 / vars.x > 0) || vars.y", 0, True),
    ("(1 / vars.x > 0) || vars.y", 0, False),
    ("vars.x ? 1 : 2", "a", 0),
    ("vars.x ? 1 / 0 : 2", False, 0),
    ("!vars.x", "a", 0),
    ("size(vars.x)", "héllo", 0),
    ("size(vars.x)", {"a": 1}, 0),
    ("size(vars.x)", 5, 0),
    ("int(vars.x)", 1.9, 0),
    ("int(vars.x)", -1.9, 0),
    ("int(vars.x)", 1e19, 0),
    ("int(vars.x)", "12", 0),
    ("int(vars.x)", "1.0", 0),
    ("double(vars.x)", "1e3", 0),
    ("double(vars.x)", "abc", 0),
    ("double(vars.x)", 3, 0),
    ("string(vars.x)", 1.5, 0),
    ("string(vars.x)", True, 0),
    ("string(vars.x)", -12, 0),
    ("string(vars.x)", None, 0),
    ("vars.x.exists(i, i > 2)", [1, "a", 3], 0),
    ("vars.x.exists(i, i > 2)", ["a", 1], 0),
    ("vars.x.all(i, i > 2)", [1, "a", 3], 0),
    ("vars.x.all(i, i > 0)", [1, "a", 3], 0),
    ("vars.x.exists_one(i, i > 2)", [3, "a"], 0),
    ("vars.x.exists_one(i, i > 2)", [3, 4], 0),
    ("vars.x.exists(k, k == 'a')", {"a": 1}, 0),
    ("vars.x.map(i, i * 2)", [1, 2], 0),
    ("vars.x.filter(i, i > 1)", [1, 2], 0),
    ("vars.x.map(i, i > 1, i * 2)", [1, 2], 0),
    ("vars.x.filter(k, k != 'b').size()", {"a": 1, "b": 2, "c": 3}, 0),
    ("'a' in vars.x.filter(k, k != 'b')", {"a": 1, "b": 2, "c": 3}, 0),
    ("vars.x.map(k, k)[0]", {"a": 1, "b": 2}, 0),
    ("vars.x.map(k, k) == ['a', 'b']", {"a": 1, "b": 2}, 0),
    ("cel.bind(z, vars.x / 0, true)", 1, 0),
    ("cel.bind(z, vars.x / 0, z)", 1, 0),
    ("cel.bind(z, vars.x / 0, z == 1 || true)", 1, 0),
    ("vars.x.matches('a+')", "baab", 0),
    ("vars.x.matches(vars.y)", "baab", "("),
    ("vars.x.matches('^[a-z]+$')", "abc\n", 0),
    ("vars.x.contains('')", "abc", 0),
    ("vars.x.lowerAscii()", "ÀBC", 0),
    ("vars.x.upperAscii()", "àbc", 0),
    ("vars.x.split(',')", "a,b,,c", 0),
    ("vars.x.split(vars.y)", "", ""),
    ("vars.x.split(vars.y)", "", ","),
    ("vars.x.split(vars.y)", "ab", "ab"),
    ("vars.x.indexOf('b')", "héb", 0),
    ("vars.x.lastIndexOf('l')", "héllo", 0),
    ("vars.x.replace('a', 'b')", "aaa", 0),
    ("vars.x.join(',')", ["a", "b"], 0),
    ("vars.x.startsWith(vars.y)", "abc", "ab"),
    ("vars.x.startsWith(vars.y)", "abc", 1),
    ("vars.x.z", {}, 0),
    ("vars.x.z", {"z": None}, 0),
    ("has(vars.x.z)", {"z": None}, 0),
    ("has(vars.x.z)", {}, 0),
    ("vars.x.z", "s", 0),
    ("type(vars.x) == string", "a", 0),
    ("type(vars.x) == map", {}, 0),
    ("type(vars.x) == int", True, 0),
    ("type(vars.x) == double", 1, 0),
    ("tool.args.to", 0, 0),
    ("tool.args.missing", 0, 0),
    ("tool.args.n == 2", 0, 0),
    ("tool.args.n == 2.0", 0, 0),
    ("tool.args.nested.k", 0, 0),
    ("tool.args.nested.k[2] == null", 0, 0),
    ("has(tool.args)", 0, 0),
    ("has(tool.description)", 0, 0),
    ("has(tool.name)", 0, 0),
    ("has(tool.args.to)", 0, 0),
    ("tool.input_schema", 0, 0),
    ("tool.description == ''", 0, 0),
    ("principal.roles", 0, 0),
    ("'admin' in principal.roles", 0, 0),
    ("principal.roles.exists(r, r == 'user')", 0, 0),
    ("size(principal.roles) == 2", 0, 0),
    ("principal.roles[5]", 0, 0),
    ("dyn(tool).name", 0, 0),
    ("dyn(tool).nmae", 0, 0),
    ("has(dyn(tool).name)", 0, 0),
    ("now > vars.x", NOW - datetime.timedelta(hours=1), 0),
    ("now == vars.x", NOW, 0),
    ("vars.x.shout()", "abc", 0),
    ("vars.x.shout() == 'X' || true", "boom", 0),
    ("vars.x.shout()", "boom", 0),
    ("[vars.x, vars.y]", 1, "a"),
    ("{'a': vars.x}", 1, 0),
    ("{'a': vars.x}.a", 1, 0),
    ("{vars.x: 1}", "k", 0),
    ("{vars.x: 1, vars.y: 2}", "k", "k"),
    ("1u + 2u", 0, 0),
    ("b'ab' + b'c'", 0, 0),
    ("size(b'ab')", 0, 0),
    ("'x' + string(vars.x)", 7, 0),
]


def _evaluate(backend: Any, source: str, x: Any, y: Any) -> Any:
    program = backend.compile(source, Kind.ANY)
    bindings = backend.bindings(
        pb.CheckRequest(action="tool_call", tool=T, principal=pb.Principal(id="u", roles=["user", "ops"])),
        frozenset({"tool", "principal", "now"}),
        backend.prepare_data({}),
        NOW,
    )
    bindings["vars"] = backend.variables({"x": x, "y": y})
    return plain(backend.evaluate(program, backend.activation(bindings)))


@pytest.mark.parametrize(("source", "x", "y"), CASES, ids=[f"{c[0]} x={c[1]!r} y={c[2]!r}" for c in CASES])
def test_same_as_cpp(source: str, x: Any, y: Any) -> None:
    cpp, closures = backends()
    expected, got, by_tree = (
        _evaluate(cpp, source, x, y),
        _evaluate(closures, source, x, y),
        _evaluate(tree(), source, x, y),
    )
    assert same(expected, got), f"cpp {expected!r} != closures {got!r}"
    assert same(expected, by_tree), f"cpp {expected!r} != closure tree {by_tree!r}"


def test_compile_errors_are_the_cpp_checker_s() -> None:
    cpp, closures = backends()
    for source in ("tool.nmae == 'x'", "1 + ", "principal.roles.exists(r, r > 1)"):
        with pytest.raises(CelCompileError) as a:
            cpp.compile(source, Kind.BOOL)
        with pytest.raises(CelCompileError) as b:
            closures.compile(source, Kind.BOOL)
        assert a.value.problems == b.value.problems


def test_the_shipped_library_is_generated_code_entirely() -> None:
    backend = celgate.load(_repo_with_registry(), backend="closures").bundle.backend
    assert backend.fallbacks == {} and backend.tree == {}


def test_the_closure_tree_decides_the_library_suites_as_cpp(monkeypatch) -> None:
    from celgate.engine import Engine
    from tests.unit.engine.test_differential import summary

    monkeypatch.setattr(ClosuresBackend, "codegen_enabled", False)
    by_tree = celgate.load(_repo_with_registry(), backend="closures")
    assert by_tree.bundle.backend.tree == {} and not by_tree.bundle.backend.codegen
    cpp = celgate.load(_repo_with_registry(), backend="cpp")
    for suite in cpp.bundle.suites:
        for case in suite.cases:
            a, b = summary(Engine(cpp.bundle).check(case.request)), summary(Engine(by_tree.bundle).check(case.request))
            assert a == b, case.name


def test_unsupported_expressions_fall_back_to_cpp_and_are_counted() -> None:
    _, closures = backends()
    program = closures.compile("1u + 2u == 3u", Kind.BOOL)
    assert program.closure is None and "1u + 2u == 3u" in closures.fallbacks
    assert closures.evaluate(program, closures.activation({})) is True


def test_runtime_fallback_hands_one_evaluation_to_cpp() -> None:
    _, closures = backends()
    program = closures.compile("string(vars.x) == '1.5'", Kind.BOOL)  # double formatting: C++ decides
    before = sum(closures.runtime_fallbacks.values())
    activation = closures.activation({"vars": {"x": 1.5}})
    assert closures.evaluate(program, activation) is True
    assert sum(closures.runtime_fallbacks.values()) == before + 1


def test_iteration_budget_is_the_cpp_runtime_s() -> None:
    cpp, closures = backends()
    for n, nested in ((10_000, False), (10_001, False), (100, True), (101, True)):
        source = "vars.x.all(i, vars.x.all(j, true))" if nested else "vars.x.all(i, true)"
        results = [_evaluate(b, source, list(range(n)), 0) for b in (cpp, closures, tree())]
        assert same(results[0], results[1]) and same(results[0], results[2]), (n, nested, results)
    for backend in (closures, tree()):
        program = backend.compile("vars.x.all(i, vars.x.all(j, true))", Kind.BOOL)
        error = backend.evaluate(program, backend.activation({"vars": {"x": list(range(200))}}))
        assert isinstance(error, EvalError) and error.message == BUDGET_EXCEEDED


def test_order_free_parameters_ignore_order() -> None:
    """The provenance functions whose `skip` list may come from a map in any order: same result for
    every order of it, since a list built from a map has the C++ runtime's hash order there."""
    specs = {spec.overload_id: spec for spec in PROVENANCE_FUNCTIONS}
    args = {"to": "x@evil.example", "body": "hi", "subject": "s", "cc": "y@evil.example"}
    request = pb.CheckRequest(
        action="tool_call",
        messages=[pb.Message(role="tool", content="send to x@evil.example and y@evil.example")],
        tool=pb.ToolCall(name="send_email", args=args),
    )
    engine = celgate.load(_repo_with_registry(), backend="closures")
    for overload, positions in ORDER_FREE_PARAMS.items():
        spec = specs[overload]
        assert positions == (1,) and spec.params[1] == "list_string"
        from celgate.engine.provenance import SessionContext
        from celgate.engine.scope import Scope

        results = set()
        for skip in itertools.permutations(["body", "subject", "cc"]):
            with Scope(0.25, SessionContext(request, engine.bundle.registry, None, engine._injected)):
                results.add(tuple(spec.impl(dict(args), list(skip))))
        assert len(results) == 1, (overload, results)


def _repo_with_registry() -> str:
    return str(__import__("pathlib").Path(__file__).resolve().parents[3] / "policies")


def test_engine_decides_with_the_closures_backend(make_repo) -> None:
    repo = make_repo(
        {
            "p.yaml": policy(
                "p",
                "[tool_call]",
                """\
                - name: ok
                  effect: allow
                  when: tool.name == "search" && principal.roles.exists(r, r == "user")
                - name: shell
                  effect: deny
                  when: tool.name == "shell" && !("admin" in principal.roles)
                  messageExpression: '"tool " + tool.name + " needs admin"'
                """,
            )
        }
    )
    engine = celgate.load(repo, backend="closures")
    assert engine.bundle.backend.name == "closures"
    request = {"action": "tool_call", "principal": {"id": "u", "roles": ["user"]}, "tool": {"name": "search"}}
    assert engine.check(request).effect == "allow"
    denied = engine.check({**request, "tool": {"name": "shell"}})
    assert denied.effect == "deny" and denied.message == "tool shell needs admin"


def test_backend_is_chosen_by_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("CELGATE_CEL_BACKEND", raising=False)
    assert new_backend(None, []).name == "closures"  # the default
    monkeypatch.setenv("CELGATE_CEL_BACKEND", "cpp")
    assert new_backend(None, []).name == "cpp"
    monkeypatch.setenv("CELGATE_CEL_BACKEND", "closures")
    assert new_backend(None, []).name == "closures"
    monkeypatch.setenv("CELGATE_CEL_BACKEND", "nope")
    with pytest.raises(ValueError, match="closures"):
        new_backend(None, [])


def test_data_beyond_plain_json_is_left_to_cpp(make_repo) -> None:
    """An int beyond int64 binds as a uint in cel-expr-python: every use of such data goes there."""
    repo = make_repo(
        {
            "data/limits.yaml": "big: 18446744073709551615\nsmall: 3\n",
            "p.yaml": policy(
                "p",
                "[tool_call]",
                """\
                - name: ok
                  effect: allow
                  when: '"small" in data.limits && data.limits.small == 3 && size(data.limits) == 2'
                """,
            ),
        }
    )
    engine = celgate.load(repo, backend="closures")
    backend = engine.bundle.backend
    before = sum(backend.runtime_fallbacks.values())
    request = {"action": "tool_call", "principal": {"id": "u"}, "tool": {"name": "x"}}
    assert engine.check(request).effect == celgate.load(repo, backend="cpp").check(request).effect == "allow"
    assert sum(backend.runtime_fallbacks.values()) > before


def test_an_unexpected_python_error_is_decided_by_cpp_and_logged_once(caplog) -> None:
    """A gap in the closures (here: a variable the engine did not bind) never answers: C++ does."""
    _, closures = backends()
    program = closures.compile("tool.name == 'x' || true", Kind.BOOL)
    with caplog.at_level("WARNING", logger="celgate.engine"):
        for _ in range(3):
            assert closures.evaluate(program, closures.activation({})) is True  # C++: `true` absorbs
    assert sum("evaluated by the C++ runtime" in r.message for r in caplog.records) == 1
    assert closures.runtime_fallbacks["unexpected KeyError"] >= 3

"""Constant `data` paths are written into the expressions at compile time, and decide as before."""

from __future__ import annotations

import json

import pytest

import celgate
from celgate.engine.datainline import inline_data, literal
from celgate.engine.datapaths import reachable
from tests.unit.engine.conftest import policy

DATA = {
    "k": {"n": 3, "x": 0.5, "big": 1e20, "on": True, "none": None, "s": 'a "q" \\ b\nc\tü', "xs": ["a", "b"]},
    "m": {"a": {"b": 1}},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x > data.k.n", "x > dyn(3)"),
        ("x > data.k.x && y < data . k . big", "x > dyn(0.5) && y < dyn(1e+20)"),
        ("data.k.xs.exists(s, s == t)", 'dyn(["a", "b"]).exists(s, s == t)'),
        ('data.k.on || data.k.none == null || t == "data.k.n"', 'dyn(true) || dyn(null) == null || t == "data.k.n"'),
        ("data.m.a.b + data.m[t] + size(data.m.a)", "dyn(1) + data.m[t] + size(data.m.a)"),  # maps stay
        ("data.k.missing", "data.k.missing"),  # a missing key stays a run-time error
        ("has(data.k.n)", "has(data.k.n)"),  # presence tests need the select
        ("[1].exists(data, data.k.n > 0)", "[1].exists(data, data.k.n > 0)"),  # `data` shadowed
        ("cel.bind(data, {}, data.k.n)", "cel.bind(data, {}, data.k.n)"),
        ("mydata.k.n + x.data.k", "mydata.k.n + x.data.k"),
    ],
)
def test_constant_paths_are_inlined_and_nothing_else(source: str, expected: str) -> None:
    assert inline_data(source, DATA) == expected


def test_literals_escape_strings_and_refuse_what_cel_cannot_write() -> None:
    assert literal('a "q" \\ b\nc\tü') == '"a \\"q\\" \\\\ b\\u000ac\\u0009ü"'
    assert literal(float("nan")) is None and literal(2**63) is None and literal("\ud800") is None
    assert literal({"a": 1}) is None and literal([1, {"a": 1}]) is None
    assert literal(1.0) == "1.0" and literal(-2) == "-2" and literal([[1], []]) == "[[1], []]"


def test_a_string_literal_is_not_a_use_of_data() -> None:
    """`"data_url"` used to make every response and tool_call bind the whole data tree."""
    assert reachable(DATA, ['f.type in ["data_url"] && x == data.k.n']) == {"k": {"n": 3}}
    assert reachable(DATA, ['"data.m" == data_x']) == {}


def test_inlined_expressions_decide_as_the_oracle(make_repo) -> None:
    rules = """\
    - name: exact
      effect: deny
      when: tool.args.q == data.k.s && data.k.xs.exists(v, v == tool.args.v) && data.k.n == 3
    - name: number
      effect: deny
      when: double(tool.args.amount) > data.k.x
    - name: allowed
      effect: allow
      when: tool.name == "t"
    """
    repo = make_repo({"p.yaml": policy("p", "[tool_call]", rules), "data/k.json": json.dumps(DATA["k"])})
    cpp, oracle = celgate.load(repo, backend="cpp"), celgate.load(repo, backend="python")
    assert cpp.bundle.plans["tool_call"].data == {}  # every path it reads was a constant
    requests = [
        {"tool": {"name": "t", "args": {"q": DATA["k"]["s"], "v": "b"}}},
        {"tool": {"name": "t", "args": {"q": DATA["k"]["s"] + "!", "v": "b"}}},
        {"tool": {"name": "t", "args": {"q": DATA["k"]["s"], "v": "c"}}},
        {"tool": {"name": "t", "args": {"amount": 0.75}}},
        {"tool": {"name": "t", "args": {"amount": "x"}}},  # an error: fails closed alike
        {"tool": {"name": "t", "args": {}}},
    ]
    for request in requests:
        request = {"action": "tool_call", "principal": {"id": "u"}, **request}
        got, want = cpp.check(request), oracle.check(request)
        assert (got.effect, sorted(got.matched_rules())) == (want.effect, sorted(want.matched_rules())), request
    assert cpp.check({"action": "tool_call", **requests[0]}).effect == "deny"

"""Detector results are kept across decisions (bounded), and only for pure functions."""

from __future__ import annotations

import pytest

import celgate
from celgate.engine.backends import FunctionSpec, new_backend
from celgate.engine.backends.base import Kind
from celgate.engine.scope import ResultCache, Scope, memoised
from tests.unit.engine.conftest import policy


def test_cache_is_bounded_by_the_text_it_holds_and_drops_the_least_recently_used() -> None:
    cache = ResultCache(max_chars=10, max_text=6)
    cache.put(("f", "aaaa"), 1, 4)
    cache.put(("f", "bbbb"), 2, 4)
    assert cache.get(("f", "aaaa")) == 1  # now the most recently used
    cache.put(("f", "cccc"), 3, 4)  # 12 > 10 chars: the least recently used ("bbbb") leaves
    assert ("f", "bbbb") not in cache and len(cache) == 2
    assert cache.get(("f", "aaaa")) == 1 and cache.get(("f", "cccc")) == 3
    cache.put(("f", "x" * 7), 4, 7)  # longer than max_text: never kept
    assert len(cache) == 2
    few = ResultCache(max_entries=2)
    for i in range(5):
        few.put(("f", str(i)), i, 1)
    assert len(few) == 2 and ("f", "4") in few and ("f", "2") not in few


def test_memoised_with_a_cache_computes_each_text_once_across_decisions() -> None:
    calls: list[str] = []

    def impl(text: str) -> int:
        calls.append(text)
        return len(text)

    cached = memoised("f", impl, cache=ResultCache())
    uncached = memoised("g", impl)
    for _ in range(3):  # three decisions
        with Scope():
            assert cached("hello") == 5 and cached("hello") == 5
            assert uncached("world") == 5 and uncached("world") == 5
    assert calls.count("hello") == 1  # remembered across decisions
    assert calls.count("world") == 3  # once per decision: not pure, so not kept


@pytest.mark.parametrize("backend", ["cpp", "closures", "python"])
def test_only_pure_functions_are_kept_across_decisions(backend: str) -> None:
    seen: list[str] = []

    def impl(text: str) -> int:
        seen.append(text)
        return len(text)

    specs = [
        FunctionSpec("pure_len", "string_pure_len", ("string",), "int", impl, pure=True),
        FunctionSpec("state_len", "string_state_len", ("string",), "int", impl),
    ]
    be = new_backend(backend, specs)
    program = be.compile('"abc".pure_len() + "xyz".state_len() == 6', Kind.BOOL)
    for _ in range(3):
        with Scope():
            assert be.evaluate(program, be.activation({})) is True
    assert seen.count("abc") == 1 and seen.count("xyz") == 3


def test_decisions_agree_with_and_without_remembered_results(make_repo) -> None:
    """The same requests decided twice (second time from remembered results) decide the same."""
    rules = """\
    - name: no-secrets
      effect: deny
      when: messages.exists(m, m.content.secrets().size() > 0)
    - name: mask
      redact:
        detectors: [pii.email]
    """
    engine = celgate.load(make_repo({"p.yaml": policy("p", "[prompt]", rules)}), backend="cpp")
    requests = [
        {"action": "prompt", "messages": [{"role": "user", "content": text}]}
        for text in ("mail me at a@b.example", "key AKIAIOSFODNN7EXAMPLE here", "nothing to see")
    ]
    first = [engine.check(r).to_dict() for r in requests]
    assert len(engine.bundle.backend.results) > 0
    second = [engine.check(r).to_dict() for r in requests]
    for a, b in zip(first, second, strict=True):
        a.pop("decision_id"), b.pop("decision_id")
        assert a == b
    assert [d["effect"] for d in first] == ["allow", "deny", "allow"]

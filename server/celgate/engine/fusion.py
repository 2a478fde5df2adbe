"""One CEL evaluation per decision instead of one per rule.

Crossing from Python into the C++ runtime costs about 2 µs per `eval`, which dwarfs what a typical
rule costs to run; a library of thirty rules would spend most of its time at the border. So, for
backends that support it, each action's request-level policies are fused into one expression that
returns one integer per policy, bit i set when rule i matched:

    [ guard1 ? cel.bind(cgv_a, <vars.a>, (rule0 ? 1 : 0) + (rule1 ? 2 : 0)) : 0, ... ]

The fused result is used only when it is a clean value. Any run-time error anywhere makes the whole
expression an error, and the engine then falls back to evaluating rule by rule, which gives each
error its exact, fail-closed treatment. Explanations always take the rule-by-rule path.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from celgate.engine.backends import Backend, CelCompileError, Kind
from celgate.engine.celtext import code_segments
from celgate.engine.model import Policy

log = logging.getLogger("celgate.engine")

MAX_RULES = 62  # bits of a CEL int that stay positive
_INDEXED_VARS = re.compile(r"\bvars\s*\[")
_VAR_REF = re.compile(r"\bvars\s*\.\s*([A-Za-z_]\w*)|\bvars\s*\[\s*\"([^\"]*)\"\s*\]|\bvars\s*\[\s*'([^']*)'\s*\]")


@dataclass(frozen=True, slots=True)
class FusedProgram:
    program: Any
    policies: tuple[Any, ...]  # the CompiledPolicy of each mask, in order


def _ident(name: str) -> str:
    return f"cgv_{name}"


def _rewrite(source: str) -> str:
    """`vars.x` becomes the bound identifier `cgv_x`, outside string literals and comments only."""
    rewritten = "".join(
        _VAR_REF.sub(lambda m: _ident(m.group(1) or m.group(2) or m.group(3)), text) if code else text
        for code, text in code_segments(source)
    )
    return "(\n" + rewritten + "\n)"


def fusable(policy: Policy) -> bool:
    sources = [policy.when.source] if policy.when else []
    sources += [e.source for _, e in policy.variables]
    sources += [r.when.source for r in policy.rules if r.when is not None]
    # `vars["x"]` spans a code run and a string literal; such policies keep the rule-by-rule path.
    indexed = any(code and _INDEXED_VARS.search(text) for s in sources for code, text in code_segments(s))
    return len(policy.rules) <= MAX_RULES and not indexed


def shared_variables(policies: list[Policy]) -> tuple[list[tuple[str, str]], set[int]]:
    """Variable lists that several unguarded policies declare alike (same names, same sources, same
    order: the shipped library's `user_turns` / `latest_user`, in three prompt policies), and which
    policies declare them. Each list is bound once around the whole fused expression instead of
    once per policy: every unguarded policy's variables were evaluated on every evaluation anyway,
    so this drops repeats only. A policy that declares a hoisted name otherwise binds its own value
    inside (CEL's cel.bind shadows), and references to undeclared variables are refused at load, so
    no policy can read another's. Lists whose names overlap one already hoisted stay per policy."""
    groups: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, policy in enumerate(policies):
        if policy.when is None and policy.variables:
            groups.setdefault(tuple((name, expr.source) for name, expr in policy.variables), []).append(i)
    hoisted: list[tuple[str, str]] = []
    names: set[str] = set()
    members: set[int] = set()
    for variables, indexes in groups.items():
        declared = {name for name, _ in variables}
        if len(indexes) < 2 or declared & names:
            continue
        names |= declared
        hoisted.extend(variables)
        members.update(indexes)
    return hoisted, members


def fused_source(policies: list[Policy], *, share: bool = True) -> str:
    hoisted, members = shared_variables(policies) if share else ([], set())
    parts = []
    for index, policy in enumerate(policies):
        terms = [
            f"({_rewrite(rule.when.source)} ? {1 << i} : 0)" if rule.when is not None else str(1 << i)
            for i, rule in enumerate(policy.rules)
        ]
        body = _balanced_sum(terms)
        if index not in members:
            for name, expr in reversed(policy.variables):
                body = f"cel.bind({_ident(name)}, dyn({_rewrite(expr.source)}), {body})"
        if policy.when is not None:
            body = f"({_rewrite(policy.when.source)} ? {body} : 0)"
        parts.append(body)
    out = "[" + ",\n".join(parts) + "]"
    for name, source in reversed(hoisted):
        out = f"cel.bind({_ident(name)}, dyn({_rewrite(source)}), {out})"
    return out


def _balanced_sum(terms: list[str]) -> str:
    """`a + b + c + d` as `((a + b) + (c + d))`: the same integer, nested log2(n) deep instead of n.

    CEL's parser refuses expressions nested deeper than 32 (`a + b + c` is a left-leaning tree), so
    a policy of fifteen rules and ten variables would not fuse and would cost one evaluation per rule.
    """
    if not terms:
        return "0"
    while len(terms) > 1:
        terms = [f"({terms[i]} + {terms[i + 1]})" if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def fuse_message(backend: Backend, policy: Policy, source: str) -> Any | None:
    """A rule's messageExpression with the policy's variables bound, so it needs no second activation."""
    if not backend.supports_fusion or not fusable(policy):
        return None
    body = _rewrite(source)
    for name, expr in reversed(policy.variables):
        body = f"cel.bind({_ident(name)}, dyn({_rewrite(expr.source)}), {body})"
    try:
        return backend.compile(body, Kind.STRING)
    except CelCompileError:
        return None


def fuse_quotas(backend: Backend, quotas: list[tuple[str | None, str, str | None]]) -> Any | None:
    """[(when, key, cost)] → one expression giving, per quota, [] (not applicable) or [key, cost]."""
    if not backend.supports_fusion or not quotas:
        return None
    parts = []
    for when, key, cost in quotas:
        pair = f"[dyn({_rewrite(key)}), dyn({_rewrite(cost) if cost else '1'})]"
        parts.append(f"dyn({_rewrite(when)} ? {pair} : [])" if when else f"dyn({pair})")
    try:
        return backend.compile("[" + ",\n".join(parts) + "]", Kind.ANY)
    except CelCompileError:
        return None


def fuse(backend: Backend, policies: list[Policy], compiled: list[Any], *, warn: bool = True) -> FusedProgram | None:
    """Compiles the fused expression for `policies` (their compiled forms in `compiled`, same order),
    or returns None when the policies are better left apart (`warn`: log it when they cannot fuse)."""
    if not backend.supports_fusion or not policies or not all(fusable(p) for p in policies):
        return None
    try:
        try:
            program = backend.compile(fused_source(policies), Kind.ANY)
        except CelCompileError:  # shared bindings are an optimisation: never the reason not to fuse
            program = backend.compile(fused_source(policies, share=False), Kind.ANY)
    except CelCompileError as e:
        if not warn:
            return None
        # Same answers rule by rule, at several times the cost: say so, or nobody will know.
        names = ", ".join(p.name for p in policies)
        log.warning("policies %s are decided rule by rule: their fused expression is refused (%s)", names, e)
        return None
    return FusedProgram(program, tuple(compiled))

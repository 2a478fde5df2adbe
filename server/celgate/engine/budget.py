"""Compile-time probe: rules that cannot decide an ordinary request within CEL's iteration budget.

The C++ runtime stops one evaluation after 10,000 comprehension steps. A rule that loops over the
conversation once is fine for any conversation the library allows; a rule with a nested loop
(`messages.exists(m, messages.exists(n, ...))`) spends n² steps and breaks at 100 messages. At run
time such a rule fails closed — a deny rule then denies every long conversation — so a revision
holding one is rejected when it is compiled, pointing at the expression's file and line.

"Ordinary" is one fixed, modest request per action (`ORDINARY_SIZE` messages, documents, tools and
arguments, short texts), evaluated rule by rule as `explain` does, each rule against its own budget.
A rule that only errors is not this probe's business (missing keys are normal on a synthetic
request); only the budget error is. cel-python has no iteration budget, so the probe finds nothing
on that backend.
"""

from __future__ import annotations

from typing import Any

from celgate.engine.actions import ACTIONS
from celgate.engine.backends.base import BUDGET_EXCEEDED
from celgate.engine.errors import PolicyError
from celgate.engine.model import Expr, Policy, QuotaLimit

ORDINARY_SIZE = 128  # messages in the probe's conversation; one loop over them is 128 steps, two nested 16,384


def ordinary_request(action: str) -> dict[str, Any]:
    """A plausible, modest request of `action`: every list and map the schema has, filled."""
    n = ORDINARY_SIZE
    args = {f"arg{i}": f"value {i}" for i in range(8)}
    calls = [{"id": f"call-{i}", "name": f"tool_{i}", "args": args} for i in range(2)]
    messages: list[dict[str, Any]] = []
    for i in range(n):
        role = ("system", "user", "assistant", "tool")[0 if i == 0 else 1 + i % 3]
        m: dict[str, Any] = {"role": role, "content": f"turn {i}: a short ordinary message about the weather"}
        if role == "assistant":
            m["tool_calls"] = calls
        if role == "tool":
            m["tool_call_id"] = "call-0"
        messages.append(m)
    documents = [
        {"id": f"doc-{i}", "content": f"paragraph {i} of an ordinary document", "source": "kb", "labels": ["kb"]}
        for i in range(32)
    ]
    return {
        "action": action,
        "principal": {"id": "probe", "tenant": "probe", "roles": ["user", "reader"], "attributes": {"team": "a"}},
        "model": {"provider": "openai", "name": "gpt-4o"},
        "messages": messages,
        "response": {"role": "assistant", "content": "an ordinary answer", "tool_calls": calls},
        "tool": {"name": "search", "args": args, "server": "probe", "description": "searches", "result": "found"},
        "tools": [{"name": f"tool_{i}", "server": "probe", "description": "a tool"} for i in range(16)],
        "documents": documents,
        "session": {"id": "probe", "labels": ["probe"]},
        "context": {f"key{i}": f"value {i}" for i in range(8)},
    }


def _expr_for(
    policy: str, rule: str, policies: dict[str, Policy], limits: dict[str, QuotaLimit]
) -> tuple[Expr | None, str]:
    if policy == "quota":
        q = limits.get(rule)
        return (q.cost or q.when or q.key, f"quota {rule!r}") if q else (None, "")
    p = policies.get(policy)
    if p is None:
        return None, ""
    if rule == "":
        return p.when, f"the guard of policy {policy!r}"
    if rule.startswith("vars."):
        name = rule.removeprefix("vars.")
        return next((e for n, e in p.variables if n == name), None), f"variable {rule!r} of policy {policy!r}"
    r = next((r for r in p.rules if r.name == rule), None)
    return (r.when if r else None), f"rule {rule!r} of policy {policy!r}"


def probe(engine: Any, policies: list[Policy], limits: tuple[QuotaLimit, ...]) -> list[PolicyError]:
    """Errors for every expression that exceeds the budget on the ordinary request of an action
    it applies to. `engine` decides with the compiled bundle and a throwaway quota store."""
    by_name = {p.name: p for p in policies}
    by_quota = {q.name: q for q in limits}
    found: dict[tuple[str, int, int], PolicyError] = {}
    for action in ACTIONS:
        if not engine.judges(action):
            continue
        decision = engine.check(ordinary_request(action), explain=True)
        for t in decision.explanation or ():
            if t.result != "error" or BUDGET_EXCEEDED not in t.error:
                continue
            expr, what = _expr_for(t.policy, t.rule, by_name, by_quota)
            if expr is None:
                continue
            error = expr.error(
                1,
                1,
                f"{what} exceeds CEL's evaluation budget on an ordinary {action} request "
                f"({ORDINARY_SIZE} messages): it would fail on every such request; avoid nested loops "
                "over request lists",
            )
            found.setdefault((error.file, error.line, error.column), error)
    return list(found.values())

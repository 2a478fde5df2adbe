"""Rules that compile but can never fire: `celgate check` warns about them, `--strict` fails on them.

Two mistakes type-checking cannot see, because every field exists in the schema:

- an obligation on a field the policy's actions never carry — `redact: {in: [response.content]}`
  in a policy for `tool_call` rewrites nothing, ever (`content.CARRIED_BY` says who carries what);
- a condition that demands an action the policy does not apply to — `action == "response"` in a
  policy for `tool_call` — so no request of its actions can produce the rule's effect.

The second check reads the expression as text and only judges plain conjunctions (no `||`, `!`,
`?:`), where one impossible `action == "x"` makes the whole condition false.
"""

from __future__ import annotations

import re

from celgate.engine import content
from celgate.engine.celtext import code_segments
from celgate.engine.errors import PolicyError
from celgate.engine.model import Expr, Policy

_ACTION_BEFORE = re.compile(r"(?<![.\w])action\s*==\s*$")  # action == "x"
_ACTION_AFTER = re.compile(r"^\s*==\s*action\b")  # "x" == action


def never_fire(policies: list[Policy]) -> list[PolicyError]:
    out: list[PolicyError] = []
    for policy in policies:
        actions = set(policy.actions)
        carried = ", ".join(policy.actions)
        guard = _impossible_action(policy.when, actions)
        if guard:
            out.append(
                PolicyError(
                    policy.file,
                    policy.pos.line,
                    policy.pos.column,
                    f"policy {policy.name!r}: its `when` needs action {guard!r}, but it applies only to {carried}: "
                    "none of its rules can ever fire",
                )
            )
        for rule in policy.rules:
            where = (policy.file, rule.pos.line, rule.pos.column)
            for spec in rule.redact.fields if rule.redact is not None else ():
                if not content.carried_by(spec) & actions:
                    out.append(
                        PolicyError(
                            *where,
                            f"rule {rule.name!r} redacts {spec}, which {carried} requests never carry: it can never "
                            "fire (name a field of the policy's actions, or add the action that carries it)",
                        )
                    )
            wanted = _impossible_action(rule.when, actions)
            if wanted:
                out.append(
                    PolicyError(
                        *where,
                        f"rule {rule.name!r} needs action {wanted!r}, but its policy applies only to {carried}: "
                        "it can never fire",
                    )
                )
    return out


def _impossible_action(expr: Expr | None, actions: set[str]) -> str:
    """The action a plain conjunction requires when it is none of `actions`; "" otherwise."""
    if expr is None:
        return ""
    segments = code_segments(expr.source)
    code = " ".join(text for is_code, text in segments if is_code)
    if "||" in code or "?" in code or re.search(r"!(?!=)", code) or "!=" in code:
        return ""
    for i, (is_code, text) in enumerate(segments):
        if is_code or len(text) < 2 or text[0] not in "\"'":
            continue
        value = text[1:-1]
        before = segments[i - 1][1] if i > 0 and segments[i - 1][0] else ""
        after = segments[i + 1][1] if i + 1 < len(segments) and segments[i + 1][0] else ""
        if (_ACTION_BEFORE.search(before) or _ACTION_AFTER.search(after)) and value not in actions:
            return value
    return ""

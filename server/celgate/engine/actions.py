"""The closed set of actions and effects, and how effects combine."""

from __future__ import annotations

PROMPT = "prompt"
RESPONSE = "response"
TOOL_CALL = "tool_call"
TOOL_RESULT = "tool_result"
RETRIEVAL = "retrieval"

ACTIONS: tuple[str, ...] = (PROMPT, RESPONSE, TOOL_CALL, TOOL_RESULT, RETRIEVAL)

ALLOW = "allow"
DENY = "deny"
REQUIRE_APPROVAL = "require_approval"

EFFECTS: tuple[str, ...] = (ALLOW, DENY, REQUIRE_APPROVAL)

# deny overrides require_approval overrides allow
EFFECT_RANK = {ALLOW: 0, REQUIRE_APPROVAL: 1, DENY: 2}

# Closed by default: an agent's tool call that no rule allows is denied.
DEFAULT_EFFECTS: dict[str, str] = {
    PROMPT: ALLOW,
    RESPONSE: ALLOW,
    TOOL_CALL: DENY,
    TOOL_RESULT: ALLOW,
    RETRIEVAL: ALLOW,
}

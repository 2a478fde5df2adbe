"""The shipped quotas count what reaches a model: prompts, not MCP tool listings."""

from __future__ import annotations

from pathlib import Path

import celgate

POLICIES = Path(__file__).resolve().parents[3] / "policies"
LIMIT = 120  # policies/celgate.yaml, prompts-per-principal


def test_tool_listings_do_not_spend_the_prompt_budget() -> None:
    engine = celgate.load(POLICIES)
    listing = {
        "action": "prompt",
        "principal": {"id": "alice", "tenant": "acme"},
        "tools": [{"name": "weather_forecast", "description": "Forecast for a city.", "server": "mcp.internal:8080"}],
        "context": {"mcp": {"method": "tools/list"}},
    }
    for _ in range(LIMIT + 5):
        assert engine.check(listing).effect == "allow"
    prompt = {
        "action": "prompt",
        "principal": {"id": "alice", "tenant": "acme"},
        "messages": [{"role": "user", "content": "Summarise the release notes."}],
    }
    effects = [engine.check(prompt) for _ in range(LIMIT + 1)]
    assert all(d.effect == "allow" for d in effects[:LIMIT])
    assert effects[LIMIT].effect == "deny"
    assert effects[LIMIT].matched_rules() == ["quota/prompts-per-principal"]

"""The official `mcp` SDK (client and server) through Envoy + celgate, in both streamable HTTP modes.

`json`: the server answers each POST with one JSON body; `sse`: with an SSE stream (the SDK's
default), and the client asks for progress so the result arrives among other events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.e2e.clients.conftest import Stack, leaves
from tests.e2e.clients.mcp_server import CARD, ORDERS_DESCRIPTION

pytestmark = pytest.mark.e2e

MODES = ["json", "sse"]


def run(
    stack: Stack,
    mode: str,
    body: Callable[[Client], Awaitable[Any]],
    roles: list[str] | None = None,
    host: str = "",
) -> Any:
    """`body` with a connected client of /mcp/<mode>; `host`: the authority the client names."""
    headers = {**stack.auth(roles), **({"host": host} if host else {})}

    async def main() -> Any:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=15) as http,
            Client(streamable_http_client(f"{stack.url}/mcp/{mode}", http_client=http)) as client,
        ):
            return await body(client)

    return asyncio.run(main())


async def _progress(progress: float, total: float | None, message: str | None) -> None:
    pass


def call(stack: Stack, mode: str, name: str, args: dict[str, Any], roles: list[str] | None = None) -> Any:
    return run(stack, mode, lambda c: c.call_tool(name, args, progress_callback=_progress), roles)


@pytest.mark.parametrize("mode", MODES)
def test_list_and_call(stack: Stack, mode: str) -> None:
    tools = run(stack, mode, lambda c: c.list_tools())
    assert {"search", "account", "fetch", "shell"} <= {t.name for t in tools.tools}
    r = call(stack, mode, "search", {"q": "weather"})
    assert not r.is_error
    assert r.content[0].text == "results for weather"
    assert r.structured_content == {"result": "results for weather"}


@pytest.mark.parametrize("mode", MODES)
def test_card_masked_in_text_and_structured_content(stack: Stack, mode: str) -> None:
    r = call(stack, mode, "search", {"q": "card"})
    assert r.content[0].text == "the card on file is [credit_card]"
    assert r.structured_content == {"result": "the card on file is [credit_card]"}


@pytest.mark.parametrize("mode", MODES)
def test_structured_output_masked_in_place_and_still_valid(stack: Stack, mode: str) -> None:
    # The SDK validates structuredContent against the tool's output schema: it must stay there.
    r = call(stack, mode, "account", {"owner": "bob"})
    assert not r.is_error
    assert r.structured_content == {
        "owner": "bob",
        "card": "[credit_card]",
        "note": "primary card [credit_card] of bob",
    }
    assert CARD not in r.content[0].text


@pytest.mark.parametrize("mode", MODES)
def test_tool_without_output_schema_masked(stack: Stack, mode: str) -> None:
    r = call(stack, mode, "fetch", {"url": "https://example.com"})
    assert r.content[0].text == "page at https://example.com: call [credit_card] for help"
    assert r.structured_content is None


@pytest.mark.parametrize("mode", MODES)
def test_leaking_result_withheld_as_an_error_result(stack: Stack, mode: str) -> None:
    r = call(stack, mode, "search", {"q": "key"})
    assert r.is_error
    text = r.content[0].text
    assert "the tool returned a private key" in text
    assert "BEGIN PRIVATE KEY" not in text and r.structured_content is None
    assert r.meta["celgate"]["decision_id"] in text


@pytest.mark.parametrize("mode", MODES)
def test_denied_call_is_an_error_result_and_never_runs(stack: Stack, mode: str) -> None:
    before = len(stack.mcp.calls)
    r = call(stack, mode, "shell", {"cmd": "rm -rf /"})
    assert r.is_error
    assert "tool shell needs the admin role" in r.content[0].text
    assert r.meta["celgate"]["code"] == "policy_denied"
    assert len(stack.mcp.calls) == before


def test_admin_may_call_shell(stack: Stack) -> None:
    r = call(stack, "json", "shell", {"cmd": "ls"}, roles=["admin"])
    assert not r.is_error and r.content[0].text == "ran ls"


def test_approval_required_names_the_approval(stack: Stack) -> None:
    before = len(stack.mcp.calls)
    r = call(stack, "sse", "transfer_funds", {"amount": 5000})
    assert r.is_error
    meta = r.meta["celgate"]
    assert meta["code"] == "approval_required"
    assert meta["approval_id"] in r.content[0].text
    assert len(stack.mcp.calls) == before


@pytest.mark.parametrize("mode", MODES)
def test_methods_celgate_cannot_judge_are_refused_naming_them(stack: Stack, mode: str) -> None:
    errors: list[BaseException] = []
    try:
        run(stack, mode, lambda c: c.read_resource("notes://customer"))
    except* MCPError as group:  # raised inside the client's task group
        errors = leaves(group)
    (err,) = errors
    assert isinstance(err, MCPError)
    assert "'resources/read'" in err.error.message
    assert err.error.data["code"] == "route_not_judged"
    assert err.error.data["decision_id"]


@pytest.mark.parametrize("mode", MODES)
def test_masked_argument_is_masked_in_its_mcp_param_header_too(stack: Stack, mode: str) -> None:
    """MCP 2026-07-28 clients mirror `x-mcp-header` arguments into `Mcp-Param-*` headers and servers
    refuse a call whose headers and body disagree: the header follows the masked argument."""

    async def body(c: Client) -> Any:
        await c.list_tools()  # the client learns from the schema which arguments it mirrors
        return await c.call_tool("pay", {"card": CARD, "amount": 5})

    before = len(stack.mcp.param_headers)
    r = run(stack, mode, body)
    assert not r.is_error, r.content  # the server's header/body consistency check passed
    assert stack.mcp.calls[-1] == {"tool": "pay", "args": {"card": "[credit_card]", "amount": 5}}
    sent = stack.mcp.param_headers[before:]
    assert sent == [{"mcp-param-card": "[credit_card]"}]


# ---- tools/list judged: pins keyed by server and tool (LLM03, the shipped policy) ---------------------

PINNED = "tools.acme.internal"  # the authority data/tools.yaml pins lookup_order to


def refused(stack: Stack, mode: str, body: Callable[[Client], Awaitable[Any]], host: str) -> MCPError:
    errors: list[BaseException] = []
    try:
        run(stack, mode, body, host=host)
    except* MCPError as group:  # raised inside the client's task group, or by the call itself
        errors = leaves(group)
    (err,) = errors
    assert isinstance(err, MCPError)
    return err


def test_reviewed_tool_list_from_its_server_passes_and_the_tool_runs(stack: Stack) -> None:
    async def body(c: Client) -> Any:
        return await c.list_tools(), await c.call_tool("lookup_order", {"order_id": "42"})

    listing, result = run(stack, "orders/reviewed", body, host=PINNED)
    (tool,) = listing.tools
    assert tool.name == "lookup_order" and tool.description == ORDERS_DESCRIPTION
    assert not result.is_error and result.content[0].text == "order 42: shipped"


@pytest.mark.parametrize("variant", ["description", "schema"])  # SSE and JSON answers respectively
def test_rug_pulled_tool_list_is_refused(stack: Stack, variant: str) -> None:
    err = refused(stack, f"orders/{variant}", lambda c: c.list_tools(), PINNED)
    assert err.error.data["code"] == "policy_denied"
    assert "possible rug pull" in err.error.message
    assert err.error.data["decision_id"]
    assert "id_rsa" not in str(err.error)  # the poisoned description never reaches the client


def test_shadowing_server_is_refused_for_the_list_and_the_call(stack: Stack) -> None:
    # The reviewed definition, byte for byte, offered by a server the pin does not name.
    err = refused(stack, "orders/reviewed", lambda c: c.list_tools(), "tools.evil.example")
    assert err.error.data["code"] == "policy_denied" and "rug pull" in err.error.message
    before = len(stack.mcp.calls)
    r = run(
        stack, "orders/reviewed", lambda c: c.call_tool("lookup_order", {"order_id": "42"}), host="tools.evil.example"
    )
    assert r.is_error and "changed since it was reviewed" in r.content[0].text
    assert len(stack.mcp.calls) == before

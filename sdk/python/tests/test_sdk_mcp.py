"""`celgate_client.mcp.guard` with the real `mcp` package: an in-memory MCP server and ClientSession."""

from __future__ import annotations

import anyio
import pytest

from celgate_client import AsyncClient, Client, PolicyDenied
from celgate_client import mcp as celgate_mcp

mcp = pytest.importorskip("mcp")  # CI installs the [mcp] extra; CI=true turns skips into failures
from mcp.client._memory import InMemoryTransport  # noqa: E402 - after the importorskip
from mcp.server.mcpserver import MCPServer  # noqa: E402

USER = {"id": "u1", "roles": ["user"]}


def _server() -> MCPServer:
    server = MCPServer("tools")
    calls: list[str] = []
    server.calls = calls  # type: ignore[attr-defined]

    @server.tool()
    def fetch_page(url: str) -> str:
        """Fetch a web page."""
        calls.append(url)
        return f"page {url}: contact eve@example.com"

    @server.tool()
    def shell(cmd: str) -> str:
        """Run a command."""
        calls.append(cmd)
        return "ran"

    @server.tool()
    def send_email(to: str) -> str:
        """Send an e-mail."""
        calls.append(to)
        return "sent"

    return server


@pytest.mark.parametrize("async_client", [True, False])
def test_mcp_session_is_guarded(celgate, transport, async_client):
    server = _server()

    async def main() -> None:
        client = (AsyncClient if async_client else Client)(celgate.url(transport), principal=USER)
        async with InMemoryTransport(server) as (read, write), mcp.ClientSession(read, write) as session:
            await session.initialize()
            guarded = celgate_mcp.guard(session, client, server="tools.local")
            assert (await guarded.list_tools()).tools  # passes through

            assert (await guarded.call_tool("send_email", {"to": "a"})).content[0].text == "sent"
            result = await guarded.call_tool("fetch_page", {"url": "http://x"})
            assert result.content[0].text == "page http://x: contact [email]"
            assert getattr(result, "structured_content", None) is None  # would carry the unredacted text
            assert client.session.labels == ["untrusted"]
            with pytest.raises(PolicyDenied):
                await guarded.call_tool("send_email", {"to": "a"})  # tainted session
            with pytest.raises(PolicyDenied):
                await guarded.call_tool("shell", {"cmd": "ls"})
        if isinstance(client, AsyncClient):
            await client.close()
        else:
            client.close()

    anyio.run(main)
    assert server.calls == ["a", "http://x"]  # type: ignore[attr-defined]

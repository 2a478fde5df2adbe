"""celgate down: every SDK reports an outage of the gateway, never something that looks like a denial."""

from __future__ import annotations

import asyncio

import anthropic
import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.e2e.clients.conftest import Stack, leaves

pytestmark = pytest.mark.e2e

GATEWAY = "celgate (the policy gateway) could not be reached"


def test_outage_is_a_503_naming_the_gateway_in_each_sdk(own_stack: Stack) -> None:
    s = own_stack
    s.celgate.stop()
    before = len(s.model.received)
    # max_retries=0: the SDKs retry a 503 by default, which is right for an outage (the model was
    # not called); here it would only make the test slower.
    with (
        openai.OpenAI(base_url=s.url + "/v1", api_key="k", default_headers=s.auth(), max_retries=0) as oa,
        pytest.raises(openai.InternalServerError) as err,
    ):
        oa.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 503
    assert err.value.code == "gateway_unavailable"
    assert GATEWAY in err.value.message
    assert err.value.response.headers["x-celgate-outage"] == "true"

    with (
        anthropic.Anthropic(base_url=s.url, api_key="k", default_headers=s.auth(), max_retries=0) as an,
        pytest.raises(anthropic.ServiceUnavailableError) as aerr,
    ):
        an.messages.create(model="claude-test", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert aerr.value.body["error"]["code"] == "gateway_unavailable"
    assert GATEWAY in aerr.value.body["error"]["message"]

    async def mcp() -> None:
        async with (
            httpx2.AsyncClient(headers=s.auth(), timeout=15) as http,
            Client(streamable_http_client(f"{s.url}/mcp/json", http_client=http)) as client,
        ):
            await client.list_tools()

    # The MCP client raises from inside its task group: the MCPError arrives in an ExceptionGroup.
    errors: list[BaseException] = []
    try:
        asyncio.run(mcp())
    except* MCPError as group:
        errors = leaves(group)
    assert errors, "the MCP client did not report the outage"
    assert isinstance(errors[0], MCPError) and GATEWAY in str(errors[0])
    assert errors[0].error.data["code"] == "gateway_unavailable"
    assert len(s.model.received) == before

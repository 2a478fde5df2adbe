"""Provider formats -> celgate requests, and rewritten text back into the same places."""

from __future__ import annotations

import json

import orjson
import pytest

from celgate.api.envoy import mapping


def _map(path: str, doc: object, authority: str = "api.test") -> mapping.Mapped:
    return mapping.map_request("POST", path, authority, json.dumps(doc).encode())


def test_openai_chat_parts_tools_and_calls() -> None:
    doc = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be nice"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "image_url", "image_url": {}},
                    {"type": "text", "text": "b"},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "result"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}
        ],
    }
    m = _map("/v1/chat/completions", doc)
    req = m.request
    assert m.dialect == mapping.OPENAI and req is not None
    assert req["model"] == {"provider": "openai", "name": "gpt-4o"}
    assert [x["content"] for x in req["messages"]] == ["be nice", "a", "b", "", "result"]
    assert req["messages"][3]["tool_calls"] == [{"id": "c1", "name": "f", "args": {"x": 1}}]
    assert req["messages"][4]["tool_call_id"] == "c1"
    assert req["tools"] == [{"name": "f", "description": "d", "input_schema": {"type": "object"}}]
    assert req["context"]["content_types"] == ["image_url", "text"]
    assert m.locators["messages[2].content"] == ("messages", 1, "content", 2, "text")
    out = orjson.loads(mapping.apply_rewrites(m, {"messages[2].content": "B", "messages[0].content": "S"}) or b"")
    assert out["messages"][0]["content"] == "S"
    assert out["messages"][1]["content"][2]["text"] == "B"


def test_anthropic_system_blocks_tool_use_and_results() -> None:
    doc = {
        "model": "claude",
        "system": [{"type": "text", "text": "sys"}],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "found"}]},
        ],
        "tools": [{"name": "search", "description": "web", "input_schema": {"type": "object"}}],
    }
    m = _map("/v1/messages", doc)
    req = m.request
    assert m.dialect == mapping.ANTHROPIC and req is not None
    assert [(x["role"], x["content"]) for x in req["messages"]] == [
        ("system", "sys"),
        ("user", "hi"),
        ("assistant", ""),
        ("tool", "found"),
    ]
    assert req["messages"][2]["tool_calls"][0]["name"] == "search"
    assert m.locators["messages[3].content"] == ("messages", 2, "content", 0, "content")
    assert req["tools"][0]["name"] == "search"


def test_openai_responses_input_and_instructions() -> None:
    doc = {
        "model": "gpt",
        "instructions": "sys",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "function_call_output", "call_id": "c", "output": "out"},
        ],
    }
    m = _map("/v1/responses", doc)
    assert m.request is not None
    assert [x["content"] for x in m.request["messages"]] == ["sys", "q", "out"]
    assert _map("/v1/responses", {"model": "gpt", "input": "plain"}).request["messages"][0]["content"] == "plain"  # type: ignore[index]


def test_mcp_tools_call_and_other_methods() -> None:
    m = _map(
        "/mcp",
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "shell", "arguments": {"cmd": "ls", "env": {"k": ["v"]}}},
        },
        "tools.internal:8080",
    )
    assert m.dialect == mapping.MCP and m.rpc_id == 3
    assert m.request == {
        "action": "tool_call",
        "tool": {"name": "shell", "args": {"cmd": "ls", "env": {"k": ["v"]}}, "server": "tools.internal:8080"},
    }
    out = orjson.loads(mapping.apply_rewrites(m, {"tool.args.env.k[0]": "w"}) or b"")
    assert out["params"]["arguments"]["env"]["k"] == ["w"]
    other = _map("/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert other.dialect == mapping.MCP and other.request is None


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/chat/completions", b"{not json", "not valid JSON"),
        ("/v1/chat/completions", b"[1]", "JSON object"),
        ("/v1/chat/completions", b'{"model": "x"}', "messages"),
        ("/v1/messages", b"", "without a body"),
        ("/mcp", b'[{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}}]', "batched"),
        (
            "/mcp",
            b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": 3}}',
            "arguments",
        ),
    ],
)
def test_unreadable_bodies_are_errors(path: str, body: bytes, needle: str) -> None:
    with pytest.raises(mapping.BodyError, match=needle):
        mapping.map_request("POST", path, "h", body)


def test_non_llm_routes_are_other() -> None:
    assert mapping.map_request("GET", "/v1/chat/completions", "h", None).dialect == mapping.OTHER
    assert mapping.map_request("POST", "/upload", "h", b"binary\x00").request is None
    assert mapping.dialect_for("/openai/v1/chat/completions?x=1", "POST") == mapping.OPENAI


def test_response_mapping_and_write_back() -> None:
    doc = {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "a"}},
            {"index": 1, "message": {"role": "assistant", "content": "b"}},
        ]
    }
    parts = mapping.map_response(mapping.OPENAI, doc)
    assert [p.response["content"] for p in parts] == ["a", "b"]
    assert mapping.write_response(doc, parts[1], "B")
    assert doc["choices"][1]["message"]["content"] == "B"
    adoc = {
        "content": [
            {"type": "text", "text": "x"},
            {"type": "tool_use", "id": "t", "name": "n", "input": {}},
            {"type": "text", "text": "y"},
        ]
    }
    [part] = mapping.map_response(mapping.ANTHROPIC, adoc)
    assert part.response["content"] == "xy" and part.response["tool_calls"][0]["name"] == "n"
    assert mapping.write_response(adoc, part, "XY")
    assert adoc["content"][0]["text"] == "XY" and adoc["content"][2]["text"] == ""


def test_tool_result_masked_in_text_and_structured_content_alike() -> None:
    from celgate.api.envoy.mapping import map_tool_result, replacements, write_tool_result

    card = "4111 1111 1111 1111"
    doc = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {
            "content": [
                {"type": "text", "text": f"a {card}"},
                {"type": "image", "data": "x"},
                {"type": "text", "text": "b"},
            ],
            "structuredContent": {"card": card, "nested": [{"note": f"card {card}!"}], "n": 3},
        },
    }
    part = map_tool_result(doc)
    # The structured strings the text does not already hold are judged too.
    assert part is not None and part.text == f"a {card}\nb\ncard {card}!"
    spans = [(2, 21), (29, 48)]
    rewritten = "a [credit_card]\nb\ncard [credit_card]!"
    subs = replacements(part.text, rewritten, spans)
    assert subs == [(card, "[credit_card]"), (card, "[credit_card]")]
    assert write_tool_result(doc, part, subs)
    assert doc["result"]["content"][0]["text"] == "a [credit_card]" and doc["result"]["content"][2]["text"] == "b"
    assert doc["result"]["structuredContent"] == {
        "card": "[credit_card]",
        "nested": [{"note": "card [credit_card]!"}],
        "n": 3,
    }
    assert map_tool_result({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "x"}}) is None


def test_replacements_refuse_texts_that_do_not_line_up() -> None:
    from celgate.api.envoy.mapping import replacements

    assert replacements("abc secret def", "abc [x] def", [(4, 10)]) == [("secret", "[x]")]
    assert replacements("abc secret def", "ABC [x] def", [(4, 10)]) is None
    assert replacements("abc secret def", "abc [x] DEF", [(4, 10)]) is None
    # Adjacent and overlapping spans merge into one stretch.
    assert replacements("xxAAyy", "xx[a]", [(2, 4), (3, 6)]) == [("AAyy", "[a]")]


def test_a_stretch_split_across_text_parts_is_not_written() -> None:
    from celgate.api.envoy.mapping import map_tool_result, write_tool_result

    doc = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"content": [{"type": "text", "text": "4111"}, {"type": "text", "text": "1111"}]},
    }
    part = map_tool_result(doc)
    assert part is not None
    assert not write_tool_result(doc, part, [("4111\n1111", "[x]")])


def test_mcp_methods_and_client_answers_are_told_apart() -> None:
    from celgate.api.envoy.mapping import map_request

    listing = map_request("POST", "/mcp", "tools", b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
    assert listing.request is None and listing.rpc_method == "tools/list"
    answer = map_request("POST", "/mcp", "tools", b'{"jsonrpc":"2.0","id":5,"result":{"action":"accept"}}')
    assert answer.dialect == "mcp" and answer.request is None and answer.rpc_method == ""
    call = map_request("POST", "/mcp", "tools", b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t"}}')
    assert call.rpc_method == "tools/call" and call.request is not None

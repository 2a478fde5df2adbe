"""Provider wire formats -> one celgate request, and the way back for rewritten content.

Envoy hands the doors raw HTTP: a method, a path, an authority and a body. This module knows what
an OpenAI chat completion, an OpenAI Responses call, an Anthropic message and an MCP `tools/call`
look like, and produces the celgate request dict a policy sees, plus *locators*: for each content
field the engine may rewrite (`messages[3].content`, `response.content`, `tool.args.query`), where
that text lives in the original JSON body, so a redaction can be written back in place.

Each text part of a multi-part message becomes its own celgate message (same role): the engine's
redactions are then exact per part and can be written back without guessing where parts split.
Non-text parts (images, audio, files) are not content a text detector can judge and are left out;
policies that must forbid them can look at `context.content_types`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

OPENAI = "openai"  # /v1/chat/completions
OPENAI_RESPONSES = "openai_responses"  # /v1/responses
ANTHROPIC = "anthropic"  # /v1/messages
MCP = "mcp"  # JSON-RPC tools/call (and the results of tools/list)
TOOLS_LIST = "tools/list"
OTHER = "other"

JsonPath = tuple[str | int, ...]


class BodyError(ValueError):
    """The body cannot be read as the format its route promises; the door fails closed on it."""


@dataclass(slots=True)
class Mapped:
    """A request in celgate's terms, with what the door needs to answer in the client's language."""

    dialect: str
    request: dict[str, Any] | None  # None: nothing for the engine to judge (default route applies)
    rpc_id: Any = None  # the JSON-RPC id, echoed in an MCP error
    rpc_method: str | None = None  # MCP: the JSON-RPC method ("" for a response the client sends back)
    locators: dict[str, JsonPath] = field(default_factory=dict)
    body: Any = None  # the parsed body, kept so ext_proc can rewrite it
    stream: bool = False  # the client asked for a streamed (SSE) reply


def dialect_for(path: str, method: str) -> str:
    """The format a route speaks, by path suffix so prefixed gateways (`/openai/v1/...`) match too."""
    if method != "POST":
        return OTHER
    p = path.split("?", 1)[0].rstrip("/")
    if p.endswith("/chat/completions"):
        return OPENAI
    if p.endswith("/responses"):
        return OPENAI_RESPONSES
    if p.endswith("/messages"):
        return ANTHROPIC
    return OTHER


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"request body is not valid JSON ({exc})") from None


def map_request(method: str, path: str, authority: str, body: bytes | None) -> Mapped:
    """Maps one HTTP request. Raises `BodyError` for a body its route cannot be read from."""
    dialect = dialect_for(path, method)
    if dialect == OTHER:
        if method == "POST" and body and body.lstrip()[:1] in (b"{", b"["):
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                return Mapped(OTHER, None)
            return _map_jsonrpc(doc, authority) or Mapped(OTHER, None)
        return Mapped(OTHER, None)
    if not body:
        raise BodyError(f"{dialect_label(dialect)} request without a body")
    doc = parse_json(body)
    if not isinstance(doc, dict):
        raise BodyError(f"{dialect_label(dialect)} request body must be a JSON object")
    if dialect == OPENAI:
        mapped = _map_openai_chat(doc)
    elif dialect == OPENAI_RESPONSES:
        mapped = _map_openai_responses(doc)
    else:
        mapped = _map_anthropic(doc)
    mapped.body = doc
    mapped.stream = doc.get("stream") is True
    return mapped


def dialect_label(dialect: str) -> str:
    return {OPENAI: "OpenAI chat", OPENAI_RESPONSES: "OpenAI responses", ANTHROPIC: "Anthropic messages"}.get(
        dialect, dialect
    )


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _args(value: Any) -> dict[str, Any]:
    """Tool arguments arrive as a JSON object, or (OpenAI) as a string holding one."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {"_raw": value}
        return parsed if isinstance(parsed, dict) else {"_raw": value}
    return {}


def _schema(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_parts(content: Any, path: JsonPath, kinds: tuple[str, ...]) -> Iterator[tuple[str, JsonPath]]:
    """Yields (text, where) for a content that is a string or a list of typed parts."""
    if isinstance(content, str):
        yield content, path
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, dict) and part.get("type") in kinds and isinstance(part.get("text"), str):
                yield part["text"], (*path, i, "text")


class _Builder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.locators: dict[str, JsonPath] = {}
        self.content_types: set[str] = set()

    def add(self, role: str, text: str, where: JsonPath | None, **extra: Any) -> None:
        if where is not None:
            self.locators[f"messages[{len(self.messages)}].content"] = where
        msg: dict[str, Any] = {"role": role, "content": text}
        msg.update({k: v for k, v in extra.items() if v})
        self.messages.append(msg)

    def note_types(self, content: Any) -> None:
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("type"), str):
                    self.content_types.add(part["type"])

    def request(self, provider: str, doc: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
        req: dict[str, Any] = {
            "action": "prompt",
            "model": {"provider": provider, "name": _str(doc.get("model"))},
            "messages": self.messages,
        }
        if tools:
            req["tools"] = tools
        if self.content_types:
            req["context"] = {"content_types": sorted(self.content_types)}
        return req


def _messages(doc: dict[str, Any], dialect: str) -> list[tuple[int, dict[str, Any]]]:
    """The body's `messages` with their indexes, each checked to be an object (fail closed)."""
    messages = doc.get("messages")
    if not isinstance(messages, list):
        raise BodyError(f"{dialect} request needs a `messages` list")
    for j, m in enumerate(messages):
        if not isinstance(m, dict):
            raise BodyError(f"messages[{j}] must be an object")
    return list(enumerate(messages))


def _map_openai_chat(doc: dict[str, Any]) -> Mapped:
    b = _Builder()
    for j, m in _messages(doc, "OpenAI chat"):
        role = _str(m.get("role"))
        content = m.get("content")
        b.note_types(content)
        calls = [
            {
                "id": _str(c.get("id")),
                "name": _str((c.get("function") or {}).get("name")),
                "args": _args((c.get("function") or {}).get("arguments")),
            }
            for c in (m.get("tool_calls") or [])
            if isinstance(c, dict) and isinstance(c.get("function"), dict)
        ]
        parts = list(_text_parts(content, ("messages", j, "content"), ("text", "input_text")))
        extra = {"name": _str(m.get("name")), "tool_call_id": _str(m.get("tool_call_id"))}
        if not parts:
            b.add(role, "", None, tool_calls=calls, **extra)
        for k, (text, where) in enumerate(parts):
            b.add(role, text, where, tool_calls=calls if k == 0 else None, **extra)
    tools = []
    for t in doc.get("tools") or []:
        if isinstance(t, dict) and isinstance(t.get("function"), dict):
            f = t["function"]
            tools.append(
                {
                    "name": _str(f.get("name")),
                    "description": _str(f.get("description")),
                    "input_schema": _schema(f.get("parameters")),
                }
            )
    return Mapped(OPENAI, b.request("openai", doc, tools), locators=b.locators)


def _map_openai_responses(doc: dict[str, Any]) -> Mapped:
    b = _Builder()
    if isinstance(doc.get("instructions"), str):
        b.add("system", doc["instructions"], ("instructions",))
    items = doc.get("input")
    if isinstance(items, str):
        b.add("user", items, ("input",))
    elif isinstance(items, list):
        for j, item in enumerate(items):
            if not isinstance(item, dict):
                raise BodyError(f"input[{j}] must be an object")
            kind = item.get("type", "message")
            if kind == "message":
                role = _str(item.get("role"))
                b.note_types(item.get("content"))
                for text, where in _text_parts(
                    item.get("content"), ("input", j, "content"), ("input_text", "output_text", "text")
                ):
                    b.add(role, text, where)
            elif kind == "function_call":
                call = {
                    "id": _str(item.get("call_id")),
                    "name": _str(item.get("name")),
                    "args": _args(item.get("arguments")),
                }
                b.add("assistant", "", None, tool_calls=[call])
            elif kind == "function_call_output":
                out = item.get("output")
                b.add(
                    "tool",
                    out if isinstance(out, str) else "",
                    ("input", j, "output") if isinstance(out, str) else None,
                    tool_call_id=_str(item.get("call_id")),
                )
    elif items is not None:
        raise BodyError("OpenAI responses `input` must be a string or a list")
    tools = [
        {
            "name": _str(t.get("name")),
            "description": _str(t.get("description")),
            "input_schema": _schema(t.get("parameters")),
        }
        for t in (doc.get("tools") or [])
        if isinstance(t, dict) and t.get("type", "function") == "function"
    ]
    return Mapped(OPENAI_RESPONSES, b.request("openai", doc, tools), locators=b.locators)


def _map_anthropic(doc: dict[str, Any]) -> Mapped:
    messages = _messages(doc, "Anthropic messages")
    b = _Builder()
    for text, where in _text_parts(doc.get("system"), ("system",), ("text",)):
        b.add("system", text, where)
    for j, m in messages:
        role = _str(m.get("role"))
        content = m.get("content")
        b.note_types(content)
        if isinstance(content, str):
            b.add(role, content, ("messages", j, "content"))
            continue
        if not isinstance(content, list):
            continue
        for k, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                b.add(role, part["text"], ("messages", j, "content", k, "text"))
            elif kind == "tool_use":
                call = {"id": _str(part.get("id")), "name": _str(part.get("name")), "args": _args(part.get("input"))}
                b.add(role, "", None, tool_calls=[call])
            elif kind == "tool_result":
                inner = part.get("content")
                found = list(_text_parts(inner, ("messages", j, "content", k, "content"), ("text",)))
                for text, where in found or [("", None)]:
                    b.add("tool", text, where, tool_call_id=_str(part.get("tool_use_id")))
    tools = [
        {
            "name": _str(t.get("name")),
            "description": _str(t.get("description")),
            "input_schema": _schema(t.get("input_schema")),
        }
        for t in (doc.get("tools") or [])
        if isinstance(t, dict)
    ]
    return Mapped(ANTHROPIC, b.request("anthropic", doc, tools), locators=b.locators)


def _map_jsonrpc(doc: Any, authority: str) -> Mapped | None:
    """MCP over streamable HTTP: a JSON-RPC `tools/call` is a tool call; other methods are plain traffic."""
    if isinstance(doc, list):
        if any(isinstance(d, dict) and d.get("method") == "tools/call" for d in doc):
            raise BodyError("batched JSON-RPC tools/call is not supported; send one call per request")
        return None
    if not isinstance(doc, dict) or doc.get("jsonrpc") != "2.0":
        return None
    if "method" not in doc and "id" in doc and ("result" in doc or "error" in doc):
        # The client answering a server's request (sampling, elicitation, roots): content celgate
        # does not judge; the default route decides.
        return Mapped(MCP, None, rpc_id=doc.get("id"), body=doc, rpc_method="")
    if not isinstance(doc.get("method"), str):
        return None
    if doc["method"] != "tools/call":
        return Mapped(MCP, None, rpc_id=doc.get("id"), body=doc, rpc_method=doc["method"])
    params = doc.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("name"), str):
        raise BodyError("MCP tools/call needs params.name")
    args = params.get("arguments", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BodyError("MCP tools/call params.arguments must be an object")
    req = {"action": "tool_call", "tool": {"name": params["name"], "args": args, "server": authority}}
    return Mapped(MCP, req, rpc_id=doc.get("id"), body=doc, rpc_method="tools/call")


# ---- writing rewritten content back -------------------------------------------------------------


def tool_arg_path(field_path: str) -> JsonPath | None:
    """`tool.args.a.b[2]` -> ("params", "arguments", "a", "b", 2) inside a JSON-RPC tools/call body."""
    if not field_path.startswith("tool.args."):
        return None
    out: list[str | int] = ["params", "arguments"]
    for piece in field_path[len("tool.args.") :].split("."):
        name, _, rest = piece.partition("[")
        out.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            out.append(int(idx))
            rest = rest[1:] if rest.startswith("[") else rest
    return tuple(out)


def set_path(doc: Any, path: JsonPath, value: Any) -> bool:
    """Sets doc[path] = value; False when the path no longer exists (the door then fails closed)."""
    node = doc
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    try:
        node[last]
    except (KeyError, IndexError, TypeError):
        return False
    node[last] = value
    return True


def get_path(doc: Any, path: JsonPath) -> Any:
    """doc[path], or None when the path does not exist."""
    node = doc
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def apply_rewrites(mapped: Mapped, rewritten: dict[str, str]) -> bytes | None:
    """Writes the decision's rewritten fields into the body; None when a field has no place in it."""
    for field_path, text in rewritten.items():
        where = mapped.locators.get(field_path) or (tool_arg_path(field_path) if mapped.dialect == MCP else None)
        if where is None or not set_path(mapped.body, where, text):
            return None
    return orjson.dumps(mapped.body)


# ---- responses (ext_proc) -----------------------------------------------------------------------


@dataclass(slots=True)
class ResponsePart:
    """One reply the engine judges (a choice, or the whole message), and where its text lives."""

    response: dict[str, Any]
    where: list[JsonPath]


def map_response(dialect: str, doc: Any) -> list[ResponsePart]:
    """Splits a buffered completion into the replies to check: one per choice for OpenAI chat."""
    if not isinstance(doc, dict):
        raise BodyError("completion body must be a JSON object")
    parts: list[ResponsePart] = []
    if dialect == OPENAI:
        for i, choice in enumerate(doc.get("choices") or []):
            msg = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(msg, dict):
                continue
            calls = [
                {
                    "id": _str(c.get("id")),
                    "name": _str((c.get("function") or {}).get("name")),
                    "args": _args((c.get("function") or {}).get("arguments")),
                }
                for c in (msg.get("tool_calls") or [])
                if isinstance(c, dict)
            ]
            where = [("choices", i, "message", "content")] if isinstance(msg.get("content"), str) else []
            parts.append(
                ResponsePart(
                    {
                        "role": _str(msg.get("role")) or "assistant",
                        "content": _str(msg.get("content")),
                        "tool_calls": calls,
                    },
                    where,
                )
            )
    elif dialect == ANTHROPIC:
        texts, where, calls = [], [], []
        for k, block in enumerate(doc.get("content") or []):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
                where.append(("content", k, "text"))
            elif block.get("type") == "tool_use":
                calls.append(
                    {"id": _str(block.get("id")), "name": _str(block.get("name")), "args": _args(block.get("input"))}
                )
        parts.append(ResponsePart({"role": "assistant", "content": "".join(texts), "tool_calls": calls}, where))
    elif dialect == OPENAI_RESPONSES:
        texts, where, calls = [], [], []
        for i, item in enumerate(doc.get("output") or []):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                for text, loc in _text_parts(item.get("content"), ("output", i, "content"), ("output_text",)):
                    texts.append(text)
                    where.append(loc)
            elif item.get("type") == "function_call":
                calls.append(
                    {
                        "id": _str(item.get("call_id")),
                        "name": _str(item.get("name")),
                        "args": _args(item.get("arguments")),
                    }
                )
        parts.append(ResponsePart({"role": "assistant", "content": "".join(texts), "tool_calls": calls}, where))
    return parts


def write_response(doc: Any, part: ResponsePart, text: str) -> bool:
    """Puts a rewritten reply back: the whole text into the first text part, the others emptied."""
    if not part.where:
        return False
    if not set_path(doc, part.where[0], text):
        return False
    return all(set_path(doc, loc, "") for loc in part.where[1:])


@dataclass(slots=True)
class ToolResultPart:
    """What a policy judges of an MCP tool result, and where each piece of it lives.

    `text` is the text content parts joined by newlines, followed by the strings of
    `structuredContent` that the text does not already contain (the official servers put the same
    data in both; a server that sends something only in `structuredContent` is judged on it too).
    """

    text: str
    texts: list[JsonPath]  # the text content parts, in order


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def map_tool_result(doc: Any) -> ToolResultPart | None:
    """A JSON-RPC tools/call result, or None when the body is an error or has no `result`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        return None
    texts, where = [], []
    for k, part in enumerate(doc["result"].get("content") or []):
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
            where.append(("result", "content", k, "text"))
    text = "\n".join(texts)
    extra = [s for s in dict.fromkeys(_strings(doc["result"].get("structuredContent"))) if s and s not in text]
    return ToolResultPart("\n".join([text, *extra]) if extra else text, where)


def map_tool_list(doc: Any, authority: str) -> list[dict[str, Any]] | None:
    """The tools a JSON-RPC `tools/list` result offers, as celgate's offered `tools` (each with
    `server` = the MCP server's authority, so a pin that names its server can tell a shadowing
    server's tool from the reviewed one); None when the body is an error or has no `result`.

    Raises `BodyError` for a result whose tools cannot be read: a list celgate cannot judge is not
    passed. A tool's `title`, `annotations` and `outputSchema` are not part of the request (the
    schema has no place for them); name, description and input schema are what the pins cover.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        return None
    tools = doc["result"].get("tools")
    if not isinstance(tools, list):
        raise BodyError("a tools/list result needs a `tools` list")
    out = []
    for i, t in enumerate(tools):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise BodyError(f"tools[{i}] of a tools/list result needs a name")
        description, schema = t.get("description"), t.get("inputSchema")
        if description is not None and not isinstance(description, str):
            raise BodyError(f"tools[{i}].description must be a string")
        if schema is not None and not isinstance(schema, dict):
            raise BodyError(f"tools[{i}].inputSchema must be an object")
        out.append(
            {"name": t["name"], "description": description or "", "input_schema": schema or {}, "server": authority}
        )
    return out


def replacements(original: str, rewritten: str, spans: list[tuple[int, int]]) -> list[tuple[str, str]] | None:
    """Each redacted stretch of `original` with what `rewritten` put in its place, read off the two
    texts (the parts between spans are unchanged); None when they do not line up that way."""
    out: list[tuple[str, str]] = []
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    src = new = 0
    for i, (start, end) in enumerate(merged):
        keep = original[src:start]
        if rewritten[new : new + len(keep)] != keep:
            return None
        new += len(keep)
        tail = original[end : merged[i + 1][0]] if i + 1 < len(merged) else original[end:]
        if i + 1 < len(merged):
            stop = rewritten.find(tail, new) if tail else -1
        else:
            stop = len(rewritten) - len(tail) if rewritten.endswith(tail) else -1
        if stop < new:
            return None
        out.append((original[start:end], rewritten[new:stop]))
        src, new = end, stop
    return out


def _substitute(node: Any, subs: list[tuple[str, str]]) -> Any:
    if isinstance(node, str):
        for old, new in subs:
            node = node.replace(old, new)
        return node
    if isinstance(node, dict):
        return {k: _substitute(v, subs) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, subs) for v in node]
    return node


def write_tool_result(doc: Any, part: ToolResultPart, subs: list[tuple[str, str]]) -> bool:
    """Masks a tool result in place: every redacted stretch is replaced wherever it occurs, in the
    text parts and in `structuredContent` alike (kept, so tools with an output schema stay valid).
    False when a stretch survives (e.g. split across two text parts): the door then withholds it."""
    result = doc["result"]
    for loc in part.texts:
        if not set_path(doc, loc, _substitute(_get(doc, loc), subs)):
            return False
    if "structuredContent" in result:
        result["structuredContent"] = _substitute(result["structuredContent"], subs)
    joined = "\n".join(_get(doc, loc) for loc in part.texts)
    return not any(old and old in joined for old, _ in subs)


def _get(doc: Any, path: JsonPath) -> Any:
    node = doc
    for key in path:
        node = node[key]
    return node

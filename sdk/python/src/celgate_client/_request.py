"""Turning friendly Python values (strings, OpenAI-style dicts, pydantic models) into CheckRequest JSON.

Everything produced here is plain JSON (dicts, lists, str, numbers, bools), because the same dict
goes out as the HTTP body and through `json_format.ParseDict` for gRPC, and keys the TTL cache.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from celgate_client.decision import Session

Principal = str | Mapping[str, Any]
"""A principal: its id as a string, or ``{"id", "roles", "tenant", "attributes"}``."""

SessionLike = Session | str | Mapping[str, Any]
"""A session: a `Session`, its id as a string, or ``{"id", "labels"}``."""


def jsonable(value: Any) -> Any:
    """Deep-copy `value` into plain JSON types; anything JSON cannot hold becomes its ``str()``."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def encode_result(result: Any) -> str:
    """A tool result as text: strings as they are, everything else JSON-encoded (``str()`` for the rest)."""
    if isinstance(result, str):
        return result
    if isinstance(result, bytes):
        return result.decode("utf-8", "replace")
    return json.dumps(result, default=_default, ensure_ascii=False)


def principal(value: Principal | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"id": value}
    return jsonable(dict(value))


def session(value: SessionLike | None) -> Session | None:
    if value is None:
        return None
    if isinstance(value, Session):
        return value
    if isinstance(value, str):
        return Session(value)
    return Session(str(value.get("id", "")), value.get("labels", ()) or ())


def model(value: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        provider, sep, name = value.partition("/")
        return {"provider": provider, "name": name} if sep else {"name": value}
    return jsonable(dict(value))


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    raise TypeError(f"cannot read a message from {type(value).__name__}")


def content_text(content: Any) -> str:
    """Text of a message's content: a string, or the text parts of an OpenAI-style content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            p = _as_mapping(part) if not isinstance(part, str) else {"type": "text", "text": part}
            if p.get("type") in ("text", "input_text", "output_text") and isinstance(p.get("text"), str):
                parts.append(p["text"])
        return "\n".join(parts)
    return str(content)


def parse_args(arguments: Any) -> dict[str, Any]:
    """Tool arguments as a JSON object: dicts as they are, JSON text decoded, anything else under ``_``."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except ValueError:
            return {"_raw": arguments}
        arguments = decoded
    if isinstance(arguments, Mapping):
        return jsonable(dict(arguments))
    return {"_": jsonable(arguments)}


def tool_call(value: Any) -> dict[str, Any]:
    """One proposed tool call, from our own form (name/args) or OpenAI's (function.name/arguments)."""
    m = _as_mapping(value)
    out: dict[str, Any] = {}
    if m.get("id"):
        out["id"] = str(m["id"])
    fn = m.get("function")
    if fn is not None:
        f = _as_mapping(fn)
        out["name"] = str(f.get("name", ""))
        out["args"] = parse_args(f.get("arguments"))
    else:
        out["name"] = str(m.get("name", ""))
        out["args"] = parse_args(m.get("args", m.get("arguments")))
    for key in ("server", "description"):
        if m.get(key):
            out[key] = str(m[key])
    return out


def tool_definition(value: Any) -> dict[str, Any]:
    """A tool offered to the model (OpenAI ``{"type": "function", "function": {...}}`` or ours)."""
    m = _as_mapping(value)
    fn = _as_mapping(m["function"]) if m.get("function") is not None else m
    out: dict[str, Any] = {"name": str(fn.get("name", ""))}
    if fn.get("description"):
        out["description"] = str(fn["description"])
    schema = fn.get("parameters", fn.get("input_schema", fn.get("inputSchema")))
    if isinstance(schema, Mapping):
        out["input_schema"] = jsonable(dict(schema))
    return out


def message(value: Any, default_role: str = "user") -> dict[str, Any]:
    """One conversation turn: a string (a `default_role` turn), a dict, or a pydantic message."""
    if isinstance(value, str):
        return {"role": default_role, "content": value}
    m = _as_mapping(value)
    out: dict[str, Any] = {"role": str(m.get("role") or default_role), "content": content_text(m.get("content"))}
    if m.get("name"):
        out["name"] = str(m["name"])
    if m.get("tool_call_id"):
        out["tool_call_id"] = str(m["tool_call_id"])
    if m.get("tool_calls"):
        out["tool_calls"] = [tool_call(tc) for tc in m["tool_calls"]]
    return out


def messages(values: str | Sequence[Any]) -> list[dict[str, Any]]:
    if isinstance(values, str):
        return [message(values)]
    return [message(v) for v in values]


def document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"content": value}
    m = _as_mapping(value)
    out: dict[str, Any] = {"content": content_text(m.get("content", m.get("text", m.get("page_content"))))}
    for key in ("id", "source"):
        if m.get(key) is not None:
            out[key] = str(m[key])
    if m.get("labels"):
        out["labels"] = [str(x) for x in m["labels"]]
    attrs = m.get("attributes", m.get("metadata"))
    if isinstance(attrs, Mapping):
        out["attributes"] = jsonable(dict(attrs))
    return out

"""Guard an MCP ``ClientSession``: every ``call_tool`` is checked before it is sent and its result after.

    from celgate_client import mcp as celgate_mcp
    guarded = celgate_mcp.guard(session, celgate, server="files.internal")
    result = await guarded.call_tool("read_file", {"path": "README.md"})

Everything else (``initialize``, ``list_tools``, ...) passes through to the wrapped session. The
result's text content is what celgate sees (text items joined with newlines). When a policy redacts
it, the text items are replaced by one text item holding the redacted text (non-text items are
kept), and the structured content is dropped, since it would carry the unredacted values.
Requires the ``mcp`` extra only for real sessions; any object with an async ``call_tool`` works.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from celgate_client._guard import _acheck
from celgate_client.client import AsyncClient, Client

__all__ = ["GuardedSession", "guard"]

_ARG_PREFIX = "tool.args."


class GuardedSession:
    """An MCP session whose ``call_tool`` asks celgate first; other attributes are the session's own."""

    def __init__(self, session: Any, client: Client | AsyncClient, *, server: str | None = None) -> None:
        self._session = session
        self._client = client
        self._server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        """Check the call (raises `PolicyDenied`/`ApprovalRequired`), run it, check and redact the result."""
        arguments = dict(arguments or {})
        before = await _acheck(self._client, "check_tool_call", name, arguments, server=self._server)
        before.raise_for_effect()
        for path, new in before.rewritten.items():
            if path.startswith(_ARG_PREFIX) and isinstance(arguments.get(path[len(_ARG_PREFIX) :]), str):
                arguments[path[len(_ARG_PREFIX) :]] = new
        result = await self._session.call_tool(name, arguments, *args, **kwargs)
        items = list(getattr(result, "content", None) or [])
        texts = [c for c in items if getattr(c, "type", None) == "text"]
        text = "\n".join(str(getattr(c, "text", "")) for c in texts)
        after = await _acheck(self._client, "check_tool_result", name, text, args=arguments, server=self._server)
        after.raise_for_effect()
        new_text = after.rewritten.get("tool.result")
        if new_text is None:
            return result
        return _redacted(result, items, texts, new_text)


def _redacted(result: Any, items: list[Any], texts: list[Any], new_text: str) -> Any:
    first = texts[0] if texts else None
    if first is not None and hasattr(first, "model_copy"):
        replacement = first.model_copy(update={"text": new_text})
    elif first is not None:
        replacement = copy.copy(first)
        replacement.text = new_text
    else:  # pragma: no cover - a rewrite without text is not possible: the text is what was checked
        return result
    content = [replacement] + [c for c in items if getattr(c, "type", None) != "text"]
    update: dict[str, Any] = {"content": content}
    for attr in ("structured_content", "structuredContent"):
        if hasattr(result, attr):
            update[attr] = None
    if hasattr(result, "model_copy"):
        return result.model_copy(update=update)
    clone = copy.copy(result)
    for key, value in update.items():
        setattr(clone, key, value)
    return clone


def guard(session: Any, client: Client | AsyncClient, *, server: str | None = None) -> GuardedSession:
    """Wrap an MCP ``ClientSession`` (or anything with an async ``call_tool``) so tool calls are checked.

    `server` is sent as ``tool.server`` (e.g. the MCP server's authority), so policies can tell
    servers apart. A sync `Client` works too: its checks run in a worker thread.
    """
    return GuardedSession(session, client, server=server)

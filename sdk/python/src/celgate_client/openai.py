"""Guard an OpenAI client: ``chat.completions.create`` checks the prompt, the reply and every proposed tool call.

    from openai import OpenAI
    from celgate_client import Client, openai as celgate_openai

    llm = celgate_openai.guard(OpenAI(), Client("http://127.0.0.1:8080", principal="u1"))
    reply = llm.chat.completions.create(model="gpt-4o", messages=[...])

What happens on ``create``:

1. the prompt (``messages``, ``tools``) is checked; a denial raises `PolicyDenied` before the model
   is called, and redactions are applied to the messages that are sent;
2. the reply is checked per choice (action ``response``, with its proposed tool calls); a denial
   raises `PolicyDenied`, redactions rewrite the choice's content;
3. each proposed tool call is checked (action ``tool_call``); a denial or an approval request
   raises, redactions of string arguments rewrite the call's JSON arguments.

With ``stream=True`` the whole stream is read and held back before anything is returned, so no
chunk of a denied or unredacted reply ever reaches the caller; the caller still gets an iterable
of the provider's chunks (content rewritten where a policy redacted it). That trades time to first
token for the guarantee. Everything else on the client passes through unchanged. ``AsyncOpenAI``
works the same with an `AsyncClient` (or a `Client`, whose checks then run in a worker thread).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celgate_client._guard import _acheck
from celgate_client.client import AsyncClient, Client
from celgate_client.decision import Decision

__all__ = ["GuardedOpenAI", "guard"]

_ARG_PREFIX = "tool.args."


@dataclass
class _Choice:
    """One reply choice as celgate sees it, and what the checks decided to change."""

    content: str = ""
    tool_calls: dict[int, dict[str, str]] = field(default_factory=dict)  # position -> {id, name, arguments}
    new_content: str | None = None
    new_arguments: dict[int, str] = field(default_factory=dict)

    def message(self) -> dict[str, Any]:
        calls = [
            {"id": tc["id"], "type": "function", "function": {"name": tc["name"], "arguments": tc["arguments"]}}
            for _, tc in sorted(self.tool_calls.items())
        ]
        return {"role": "assistant", "content": self.content, **({"tool_calls": calls} if calls else {})}


def _model(kwargs: Mapping[str, Any]) -> dict[str, str]:
    return {"provider": "openai", "name": str(kwargs.get("model", ""))}


def _rewrite_arguments(arguments: str, decision: Decision) -> str | None:
    updates = {p[len(_ARG_PREFIX) :]: v for p, v in decision.rewritten.items() if p.startswith(_ARG_PREFIX)}
    if not updates:
        return None
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return None
    if not isinstance(args, dict):
        return None
    args.update({k: v for k, v in updates.items() if isinstance(args.get(k), str)})
    return json.dumps(args, ensure_ascii=False)


def _choices_from_completion(resp: Any) -> dict[int, _Choice]:
    out: dict[int, _Choice] = {}
    for choice in getattr(resp, "choices", None) or []:
        msg = choice.message
        c = _Choice(content=msg.content or "")
        for pos, tc in enumerate(getattr(msg, "tool_calls", None) or []):
            fn = getattr(tc, "function", None)
            if fn is None:  # a custom (non-function) tool call: check its name and input
                custom = getattr(tc, "custom", None)
                name, arguments = getattr(custom, "name", ""), json.dumps({"input": getattr(custom, "input", "")})
            else:
                name, arguments = fn.name, fn.arguments or ""
            c.tool_calls[pos] = {"id": tc.id or "", "name": name or "", "arguments": arguments}
        out[choice.index] = c
    return out


def _choices_from_chunks(chunks: Sequence[Any]) -> dict[int, _Choice]:
    out: dict[int, _Choice] = {}
    for chunk in chunks:
        for choice in getattr(chunk, "choices", None) or []:
            c = out.setdefault(choice.index, _Choice())
            delta = choice.delta
            if delta is None:
                continue
            if delta.content:
                c.content += delta.content
            for tc in getattr(delta, "tool_calls", None) or []:
                acc = c.tool_calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                if tc.id:
                    acc["id"] = tc.id
                if tc.function is not None:
                    acc["name"] += tc.function.name or ""
                    acc["arguments"] += tc.function.arguments or ""
    return out


def _apply_to_completion(resp: Any, choices: dict[int, _Choice]) -> None:
    for choice in resp.choices:
        c = choices[choice.index]
        if c.new_content is not None:
            choice.message.content = c.new_content
        for pos, tc in enumerate(choice.message.tool_calls or []):
            if pos in c.new_arguments and getattr(tc, "function", None) is not None:
                tc.function.arguments = c.new_arguments[pos]


def _apply_to_chunks(chunks: list[Any], choices: dict[int, _Choice]) -> list[Any]:
    """Put each rewritten text in the first chunk that carried that text, and blank the rest."""
    content_seen: set[int] = set()
    args_seen: set[tuple[int, int]] = set()
    for chunk in chunks:
        for choice in getattr(chunk, "choices", None) or []:
            c, delta = choices.get(choice.index), choice.delta
            if c is None or delta is None:
                continue
            if c.new_content is not None and delta.content is not None:
                delta.content = "" if choice.index in content_seen else c.new_content
                content_seen.add(choice.index)
            for tc in getattr(delta, "tool_calls", None) or []:
                key = (choice.index, tc.index)
                if tc.index in c.new_arguments and tc.function is not None and tc.function.arguments is not None:
                    tc.function.arguments = "" if key in args_seen else c.new_arguments[tc.index]
                    args_seen.add(key)
    return chunks


class _Held:
    """The provider's stream, fully read and vetted, replayed to the caller."""

    def __init__(self, chunks: list[Any], original: Any) -> None:
        self._chunks = chunks
        self._original = original

    def __iter__(self) -> Iterator[Any]:
        return iter(self._chunks)

    def __next__(self) -> Any:  # pragma: no cover - iter() is the documented way
        raise TypeError("iterate with for/iter()")

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        close = getattr(self._original, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _AsyncHeld:
    """The async twin of `_Held`."""

    def __init__(self, chunks: list[Any], original: Any) -> None:
        self._chunks = chunks
        self._original = original

    async def _gen(self) -> AsyncIterator[Any]:
        for chunk in self._chunks:
            yield chunk

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._gen()

    async def __aenter__(self) -> _AsyncHeld:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        close = getattr(self._original, "close", None)
        if close is not None:
            await close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _Completions:
    def __init__(self, inner: Any, client: Client | AsyncClient, is_async: bool) -> None:
        self._inner = inner
        self._client = client
        self._async = is_async

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create(self, **kwargs: Any) -> Any:
        """``chat.completions.create`` with the prompt, the reply and its tool calls checked (see module doc)."""
        if self._async:
            return self._acreate(**kwargs)
        client = self._client
        assert isinstance(client, Client), "a sync OpenAI client needs a sync celgate Client"
        messages = list(kwargs.get("messages") or [])
        prompt = client.check_prompt(messages, tools=kwargs.get("tools"), model=_model(kwargs))
        prompt.raise_for_effect()
        if prompt.rewritten:
            kwargs["messages"] = prompt.apply_messages(messages)
        if kwargs.get("stream"):
            stream = self._inner.create(**kwargs)
            try:
                chunks = list(stream)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            choices = _choices_from_chunks(chunks)
            for c in choices.values():
                self._vet(c, kwargs)
            return _Held(_apply_to_chunks(chunks, choices), stream)
        resp = self._inner.create(**kwargs)
        choices = _choices_from_completion(resp)
        for c in choices.values():
            self._vet(c, kwargs)
        _apply_to_completion(resp, choices)
        return resp

    def _vet(self, c: _Choice, kwargs: Mapping[str, Any]) -> None:
        client = self._client
        assert isinstance(client, Client)
        messages = kwargs.get("messages") or []
        reply = client.check_response(c.message(), messages=messages, model=_model(kwargs))
        reply.raise_for_effect()
        c.new_content = reply.rewritten.get("response.content")
        for pos, tc in sorted(c.tool_calls.items()):
            d = client.check_tool_call(
                tc["name"], tc["arguments"], call_id=tc["id"] or None, messages=messages, model=_model(kwargs)
            )
            d.raise_for_effect()
            new = _rewrite_arguments(tc["arguments"], d)
            if new is not None:
                c.new_arguments[pos] = new

    async def _acreate(self, **kwargs: Any) -> Any:
        messages = list(kwargs.get("messages") or [])
        prompt = await _acheck(self._client, "check_prompt", messages, tools=kwargs.get("tools"), model=_model(kwargs))
        prompt.raise_for_effect()
        if prompt.rewritten:
            kwargs["messages"] = prompt.apply_messages(messages)
        if kwargs.get("stream"):
            stream = await self._inner.create(**kwargs)
            chunks: list[Any] = []
            try:
                async for chunk in stream:
                    chunks.append(chunk)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    await close()
            choices = _choices_from_chunks(chunks)
            for c in choices.values():
                await self._avet(c, kwargs)
            return _AsyncHeld(_apply_to_chunks(chunks, choices), stream)
        resp = await self._inner.create(**kwargs)
        choices = _choices_from_completion(resp)
        for c in choices.values():
            await self._avet(c, kwargs)
        _apply_to_completion(resp, choices)
        return resp

    async def _avet(self, c: _Choice, kwargs: Mapping[str, Any]) -> None:
        messages = kwargs.get("messages") or []
        reply = await _acheck(self._client, "check_response", c.message(), messages=messages, model=_model(kwargs))
        reply.raise_for_effect()
        c.new_content = reply.rewritten.get("response.content")
        for pos, tc in sorted(c.tool_calls.items()):
            d = await _acheck(
                self._client,
                "check_tool_call",
                tc["name"],
                tc["arguments"],
                call_id=tc["id"] or None,
                messages=messages,
                model=_model(kwargs),
            )
            d.raise_for_effect()
            new = _rewrite_arguments(tc["arguments"], d)
            if new is not None:
                c.new_arguments[pos] = new


class _Chat:
    def __init__(self, inner: Any, client: Client | AsyncClient, is_async: bool) -> None:
        self._inner = inner
        self.completions = _Completions(inner.completions, client, is_async)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class GuardedOpenAI:
    """An OpenAI (or AsyncOpenAI) client whose ``chat.completions.create`` is checked by celgate."""

    def __init__(self, openai_client: Any, client: Client | AsyncClient) -> None:
        self._inner = openai_client
        self._client = client
        self._async = _is_async(openai_client)
        if not self._async and not isinstance(client, Client):
            raise TypeError("a sync OpenAI client needs a sync celgate Client (AsyncOpenAI takes an AsyncClient)")
        self.chat = _Chat(openai_client.chat, client, self._async)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def with_options(self, **kwargs: Any) -> GuardedOpenAI:
        """The wrapped client's ``with_options``, still guarded."""
        return GuardedOpenAI(self._inner.with_options(**kwargs), self._client)


def _is_async(openai_client: Any) -> bool:
    try:
        import openai as _openai
    except ImportError:  # pragma: no cover - duck-typed clients without the package
        return type(openai_client).__name__.startswith("Async")
    return isinstance(openai_client, _openai.AsyncOpenAI)


def guard(openai_client: Any, client: Client | AsyncClient) -> GuardedOpenAI:
    """Return `openai_client` with ``chat.completions.create`` guarded by `client` (see the module doc)."""
    return GuardedOpenAI(openai_client, client)

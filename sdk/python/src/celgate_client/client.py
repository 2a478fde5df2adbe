"""`Client` and `AsyncClient`: ask celgate, retry within one deadline, and fail closed.

Both share `_Core`, which turns the convenience methods' arguments into one CheckRequest dict (a
`_Call`), keeps the session and the optional cache, and turns a transport failure into a fallback
decision. Only the loop that waits differs between them.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import cachetools
from google.protobuf import json_format
from google.protobuf.message import Message as _ProtoMessage

from celgate_client import _request as rq
from celgate_client._transport import AsyncTransport, Retryable, SyncTransport, TlsFiles, Unreachable
from celgate_client.decision import ALLOW, DENY, ApprovalStatus, Decision, Reason, Session

__all__ = ["AsyncClient", "Client"]

log = logging.getLogger("celgate_client")

UNREACHABLE_RULE = "celgate_unreachable"
_BACKOFF_BASE = 0.05
_BACKOFF_CAP = 1.0

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(slots=True)
class _Call:
    request: dict[str, Any]
    session: Session
    field: str | None = None
    original: str | None = None


class _Core:
    def __init__(
        self,
        url: str,
        *,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        timeout: float = 2.0,
        retries: int = 2,
        fail_open: bool = False,
        cache_ttl: float | None = None,
        cache_size: int = 1024,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.url = url
        self.principal = rq.principal(principal)
        self.session: Session = rq.session(session) or Session()
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.fail_open = bool(fail_open)
        self.headers = dict(headers or {})
        if api_key:
            self.headers["authorization"] = f"Bearer {api_key}"
        self.tls = TlsFiles.of(url, tls_ca, tls_cert, tls_key)
        self._cache: cachetools.TTLCache[str, Decision] | None = (
            cachetools.TTLCache(maxsize=cache_size, ttl=cache_ttl) if cache_ttl else None
        )
        self._cache_lock = threading.Lock()

    # -- building requests -------------------------------------------------------------------------

    def _call(
        self,
        body: dict[str, Any],
        *,
        principal: rq.Principal | None,
        session: rq.SessionLike | None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
        field: str | None = None,
        original: str | None = None,
        approval_id: str | None = None,
    ) -> _Call:
        sess = rq.session(session) or self.session
        p = rq.principal(principal) or self.principal
        if p and "principal" not in body:
            body["principal"] = p
        if "session" not in body:
            s = sess.to_dict()
            if s:
                body["session"] = s
        m = rq.model(model)
        if m:
            body["model"] = m
        if context:
            body["context"] = rq.jsonable(dict(context))
        if request_id:
            body["request_id"] = request_id
        if explain:
            body["explain"] = True
        if approval_id:
            body["approval_id"] = approval_id
        return _Call(body, sess, field, original)

    def _raw(self, request: Mapping[str, Any] | _ProtoMessage, principal: Any, session: Any) -> _Call:
        if isinstance(request, _ProtoMessage):
            body = json_format.MessageToDict(request, preserving_proto_field_name=True)
        else:
            body = rq.jsonable(dict(request))
        return self._call(body, principal=principal, session=session)

    def _prompt(
        self, messages: str | Sequence[Any], tools: Sequence[Any] | None, documents: Sequence[Any] | None, **kw: Any
    ) -> _Call:
        msgs = rq.messages(messages)
        body: dict[str, Any] = {"action": "prompt", "messages": msgs}
        if tools:
            body["tools"] = [rq.tool_definition(t) for t in tools]
        if documents:
            body["documents"] = [rq.document(d) for d in documents]
        field = original = None
        if isinstance(messages, str):
            field, original = f"messages[{len(msgs) - 1}].content", msgs[-1]["content"]
        return self._call(body, field=field, original=original, **kw)

    def _response(self, message: Any, messages: Sequence[Any] | None, **kw: Any) -> _Call:
        resp = rq.message(message, default_role="assistant")
        body: dict[str, Any] = {"action": "response", "response": resp}
        if messages:
            body["messages"] = rq.messages(messages)
        return self._call(body, field="response.content", original=resp["content"], **kw)

    def _tool_call(
        self,
        name: str,
        args: Any,
        messages: Sequence[Any] | None,
        server: str | None,
        description: str | None,
        call_id: str | None,
        **kw: Any,
    ) -> _Call:
        tool: dict[str, Any] = {"name": name, "args": rq.parse_args(args)}
        _tool_extras(tool, server, description, call_id)
        body: dict[str, Any] = {"action": "tool_call", "tool": tool}
        if messages:
            body["messages"] = rq.messages(messages)
        return self._call(body, **kw)

    def _tool_result(
        self,
        name: str,
        result: Any,
        args: Any,
        messages: Sequence[Any] | None,
        server: str | None,
        call_id: str | None,
        **kw: Any,
    ) -> _Call:
        text = rq.encode_result(result)
        tool: dict[str, Any] = {"name": name, "args": rq.parse_args(args), "result": text}
        _tool_extras(tool, server, None, call_id)
        body: dict[str, Any] = {"action": "tool_result", "tool": tool}
        if messages:
            body["messages"] = rq.messages(messages)
        return self._call(body, field="tool.result", original=text, **kw)

    def _retrieval(self, documents: Sequence[Any], messages: Sequence[Any] | None, **kw: Any) -> _Call:
        body: dict[str, Any] = {"action": "retrieval", "documents": [rq.document(d) for d in documents]}
        if messages:
            body["messages"] = rq.messages(messages)
        return self._call(body, **kw)

    # -- results -----------------------------------------------------------------------------------

    def _cache_key(self, call: _Call) -> str | None:
        if self._cache is None:
            return None
        return json.dumps(call.request, sort_keys=True, separators=(",", ":"))

    def _cached(self, key: str | None, call: _Call) -> Decision | None:
        if key is None or self._cache is None:
            return None
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is None:
            return None
        return dataclasses.replace(hit, field=call.field, original=call.original)

    def _accept(self, call: _Call, key: str | None, body: Mapping[str, Any]) -> Decision:
        decision = Decision.from_dict(body, field=call.field, original=call.original)
        if key is not None and self._cache is not None:
            with self._cache_lock:
                self._cache[key] = decision
        return self._labelled(call, decision)

    @staticmethod
    def _labelled(call: _Call, decision: Decision) -> Decision:
        if decision.labels and not decision.fallback:
            call.session.add_labels(decision.labels)
        return decision

    def _fallback(self, call: _Call, detail: str) -> Decision:
        effect = ALLOW if self.fail_open else DENY
        what = "allowing (fail_open=True)" if self.fail_open else "denying (fail closed)"
        log.warning(
            "celgate at %s could not decide %s: %s; %s", self.url, call.request.get("action", "?"), detail, what
        )
        reason = Reason(
            policy="celgate-client",
            rule=UNREACHABLE_RULE,
            effect=effect,
            message=f"celgate unreachable: {detail}",
            enforced=True,
        )
        return Decision(
            effect=effect,
            reasons=(reason,),
            message=f"celgate unreachable: {detail}",
            fallback=True,
            field=call.field,
            original=call.original,
        )

    @staticmethod
    def _wait_args(approval_id: str, timeout: float, poll_interval: float) -> None:
        if not approval_id:
            raise ValueError("approval_id is empty: only a require_approval decision carries one")
        if timeout < 0 or poll_interval <= 0:
            raise ValueError("timeout must be >= 0 and poll_interval > 0")

    def _backoff(self, attempt: int, remaining: float) -> float:
        # Full jitter: many agents retrying together must not hit a recovering service in lockstep.
        return min(remaining, _BACKOFF_CAP, _BACKOFF_BASE * (2**attempt) * random.uniform(0.5, 1.0))


def _tool_extras(tool: dict[str, Any], server: str | None, description: str | None, call_id: str | None) -> None:
    if server:
        tool["server"] = server
    if description:
        tool["description"] = description
    if call_id:
        tool["id"] = call_id


def _kept_documents(documents: Sequence[T], decision: Decision) -> list[T]:
    """The documents the decision allows, with `documents[i].content` rewrites applied."""
    if decision.effect != ALLOW and (decision.fallback or not decision.documents):
        return []
    per_doc = {d.index: d for d in decision.documents}
    kept: list[Any] = []
    for i, doc in enumerate(documents):
        d = per_doc.get(i)
        effect = d.effect if d is not None else decision.effect
        if effect != ALLOW:
            continue
        new = decision.rewritten.get(f"documents[{i}].content")
        if new is None:
            kept.append(doc)
        elif isinstance(doc, str):
            kept.append(new)
        elif isinstance(doc, Mapping):
            key = next((k for k in ("content", "text", "page_content") if k in doc), "content")
            kept.append({**doc, key: new})
        else:
            clone = copy.copy(doc)
            for attr in ("content", "text", "page_content"):
                if hasattr(clone, attr):
                    setattr(clone, attr, new)
                    break
            kept.append(clone)
    return kept


class Client(_Core):
    """A synchronous celgate client over HTTP (``http://``, ``https://``) or gRPC (``grpc://``, ``grpcs://``).

    Args:
        url: the service, e.g. ``http://127.0.0.1:8080`` or ``grpc://127.0.0.1:9090``.
        principal: who the checks act for (an id, or ``{"id", "roles", "tenant", "attributes"}``);
            each method's ``principal=`` overrides it.
        session: the session whose labels are sent and grown (a `Session`, an id or a dict).
        timeout: seconds for the whole call, retries included.
        retries: extra attempts after connection errors and UNAVAILABLE (never after 4xx).
        fail_open: when celgate cannot be asked, allow (with a warning) instead of deny.
        cache_ttl: seconds to reuse the decision of an identical request; None disables the cache.
        cache_size: the cache's maximum number of entries.
        headers: extra HTTP headers / gRPC metadata.
        api_key: an API key or a JWT, sent as ``Authorization: Bearer ...`` on every call.
        tls_ca: CA bundle (PEM file) that verifies the service's certificate (``https``/``grpcs``;
            default: the system's CAs).
        tls_cert, tls_key: a client certificate and its key (PEM files), for mutual TLS.

    A check never raises because celgate is down or slow: it returns a deny decision with the reason
    ``celgate_unreachable`` (or allow, with ``fail_open=True``). It raises `InvalidRequest` or
    `CelgateError` when the request itself is wrong.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._transport = SyncTransport(url, self.headers, self.tls)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool / channel."""
        self._transport.close()

    def _run(self, call: _Call) -> Decision:
        key = self._cache_key(call)
        hit = self._cached(key, call)
        if hit is not None:
            return self._labelled(call, hit)
        deadline = time.monotonic() + self.timeout
        detail = "no attempt made"
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return self._accept(call, key, self._transport.check(call.request, remaining))
            except Retryable as e:
                detail = str(e)
            except Unreachable as e:
                return self._fallback(call, str(e))
            if attempt < self.retries:
                pause = self._backoff(attempt, deadline - time.monotonic())
                if pause > 0:
                    time.sleep(pause)
        return self._fallback(call, detail)

    def check(
        self,
        request: Mapping[str, Any] | _ProtoMessage,
        *,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
    ) -> Decision:
        """Decide a raw CheckRequest (a dict in proto JSON form, or a ``CheckRequest`` message)."""
        return self._run(self._raw(request, principal, session))

    def check_prompt(
        self,
        messages: str | Sequence[Any],
        *,
        tools: Sequence[Any] | None = None,
        documents: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """Decide a prompt before it reaches the model (action ``prompt``).

        `messages` is a string (one user turn) or a list of dicts/pydantic messages in OpenAI shape.
        """
        return self._run(
            self._prompt(
                messages,
                tools,
                documents,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    def check_response(
        self,
        message: Any,
        *,
        messages: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """Decide the model's reply (action ``response``); `message` is its text or an assistant message."""
        return self._run(
            self._response(
                message,
                messages,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    def check_tool_call(
        self,
        name: str,
        args: Mapping[str, Any] | str | None = None,
        *,
        messages: Sequence[Any] | None = None,
        server: str | None = None,
        description: str | None = None,
        call_id: str | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
        approval_id: str | None = None,
    ) -> Decision:
        """Decide a tool call before it runs (action ``tool_call``); `args` is a dict or JSON text.

        `approval_id`: retrying a call that needed a human approval; once approved, this exact call
        (same tool, arguments, principal and session) is allowed once."""
        return self._run(
            self._tool_call(
                name,
                args,
                messages,
                server,
                description,
                call_id,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
                approval_id=approval_id,
            )
        )

    def check_tool_result(
        self,
        name: str,
        result: Any,
        *,
        args: Mapping[str, Any] | str | None = None,
        messages: Sequence[Any] | None = None,
        server: str | None = None,
        call_id: str | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """Decide a tool's result before the model sees it (action ``tool_result``).

        Non-string results are JSON-encoded; `Decision.content` is the (possibly redacted) text.
        """
        return self._run(
            self._tool_result(
                name,
                result,
                args,
                messages,
                server,
                call_id,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    def filter_documents(
        self,
        documents: Sequence[T],
        *,
        messages: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> list[T]:
        """Return the retrieved documents the policies allow, in order, with redactions applied.

        Documents are strings, dicts (``content``/``text``/``page_content``, ``id``, ``source``,
        ``labels``, ``attributes``/``metadata``) or objects with such attributes; each comes back in
        the form it was given. When celgate cannot be asked (fail closed) none are kept.
        """
        if not documents:
            return []
        call = self._retrieval(
            documents, messages, principal=principal, session=session, context=context, request_id=request_id
        )
        decision = self._run(call)
        if decision.fallback:
            return list(documents) if decision.allowed else []
        return _kept_documents(documents, decision)

    def wait_for_approval(
        self, approval_id: str, timeout: float = 300.0, *, poll_interval: float = 1.0
    ) -> ApprovalStatus:
        """Wait until a human approves or denies `approval_id`, or `timeout` seconds pass.

        Returns the `ApprovalStatus` as it then stands: ``approved`` (retry the same request with
        ``approval_id=`` and it goes through once), ``denied``, ``expired``, ``used``, or still
        ``pending`` when the wait timed out. Asks ``GET /v1/approvals/{id}/status`` (or gRPC
        ``ApprovalService/GetApprovalStatus``) every `poll_interval` seconds; raises `CelgateError`
        for an unknown id or a refused credential. Connection failures are retried until `timeout`.
        """
        self._wait_args(approval_id, timeout, poll_interval)
        deadline = time.monotonic() + timeout
        last = ApprovalStatus(approval_id, "pending")
        while True:
            remaining = deadline - time.monotonic()
            try:
                last = ApprovalStatus.from_dict(
                    self._transport.approval_status(approval_id, max(0.05, min(self.timeout, remaining)))
                )
                if last.state != "pending":
                    return last
            except (Retryable, Unreachable) as e:
                log.debug("celgate: approval %s not read yet: %s", approval_id, e)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return last
            time.sleep(min(poll_interval, remaining))

    @overload
    def guard_tool(self, fn: F, /) -> F: ...
    @overload
    def guard_tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        server: str | None = None,
        description: str | None = None,
        wait_for_approval: float | None = None,
    ) -> Callable[[F], F]: ...

    def guard_tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        server: str | None = None,
        description: str | None = None,
        wait_for_approval: float | None = None,
    ) -> F | Callable[[F], F]:
        """Decorate a tool function (sync or async) so each call is checked before and its result after.

        With `wait_for_approval` (seconds), a call that needs a human approval waits for it (see
        `wait_for_approval`) and, once approved, is checked again with the approval id and runs; a
        denial, expiry or timeout raises `ApprovalRequired`/`PolicyDenied` as without waiting.
        See `celgate_client.guard_tool` for the details.
        """
        from celgate_client._guard import guard

        return guard(self, fn, name=name, server=server, description=description, wait=wait_for_approval)


class AsyncClient(_Core):
    """The asyncio twin of `Client`: same arguments, same methods, awaited."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._transport = AsyncTransport(url, self.headers, self.tls)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool / channel."""
        await self._transport.close()

    async def _run(self, call: _Call) -> Decision:
        key = self._cache_key(call)
        hit = self._cached(key, call)
        if hit is not None:
            return self._labelled(call, hit)
        deadline = time.monotonic() + self.timeout
        detail = "no attempt made"
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return self._accept(call, key, await self._transport.check(call.request, remaining))
            except Retryable as e:
                detail = str(e)
            except Unreachable as e:
                return self._fallback(call, str(e))
            if attempt < self.retries:
                pause = self._backoff(attempt, deadline - time.monotonic())
                if pause > 0:
                    await asyncio.sleep(pause)
        return self._fallback(call, detail)

    async def check(
        self,
        request: Mapping[str, Any] | _ProtoMessage,
        *,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
    ) -> Decision:
        """See `Client.check`."""
        return await self._run(self._raw(request, principal, session))

    async def check_prompt(
        self,
        messages: str | Sequence[Any],
        *,
        tools: Sequence[Any] | None = None,
        documents: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """See `Client.check_prompt`."""
        return await self._run(
            self._prompt(
                messages,
                tools,
                documents,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    async def check_response(
        self,
        message: Any,
        *,
        messages: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """See `Client.check_response`."""
        return await self._run(
            self._response(
                message,
                messages,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    async def check_tool_call(
        self,
        name: str,
        args: Mapping[str, Any] | str | None = None,
        *,
        messages: Sequence[Any] | None = None,
        server: str | None = None,
        description: str | None = None,
        call_id: str | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
        approval_id: str | None = None,
    ) -> Decision:
        """See `Client.check_tool_call`."""
        return await self._run(
            self._tool_call(
                name,
                args,
                messages,
                server,
                description,
                call_id,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
                approval_id=approval_id,
            )
        )

    async def check_tool_result(
        self,
        name: str,
        result: Any,
        *,
        args: Mapping[str, Any] | str | None = None,
        messages: Sequence[Any] | None = None,
        server: str | None = None,
        call_id: str | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        model: str | Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        explain: bool = False,
    ) -> Decision:
        """See `Client.check_tool_result`."""
        return await self._run(
            self._tool_result(
                name,
                result,
                args,
                messages,
                server,
                call_id,
                principal=principal,
                session=session,
                model=model,
                context=context,
                request_id=request_id,
                explain=explain,
            )
        )

    async def filter_documents(
        self,
        documents: Sequence[T],
        *,
        messages: Sequence[Any] | None = None,
        principal: rq.Principal | None = None,
        session: rq.SessionLike | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> list[T]:
        """See `Client.filter_documents`."""
        if not documents:
            return []
        call = self._retrieval(
            documents, messages, principal=principal, session=session, context=context, request_id=request_id
        )
        decision = await self._run(call)
        if decision.fallback:
            return list(documents) if decision.allowed else []
        return _kept_documents(documents, decision)

    async def wait_for_approval(
        self, approval_id: str, timeout: float = 300.0, *, poll_interval: float = 1.0
    ) -> ApprovalStatus:
        """See `Client.wait_for_approval`."""
        self._wait_args(approval_id, timeout, poll_interval)
        deadline = time.monotonic() + timeout
        last = ApprovalStatus(approval_id, "pending")
        while True:
            remaining = deadline - time.monotonic()
            try:
                last = ApprovalStatus.from_dict(
                    await self._transport.approval_status(approval_id, max(0.05, min(self.timeout, remaining)))
                )
                if last.state != "pending":
                    return last
            except (Retryable, Unreachable) as e:
                log.debug("celgate: approval %s not read yet: %s", approval_id, e)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return last
            await asyncio.sleep(min(poll_interval, remaining))

    @overload
    def guard_tool(self, fn: F, /) -> F: ...
    @overload
    def guard_tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        server: str | None = None,
        description: str | None = None,
        wait_for_approval: float | None = None,
    ) -> Callable[[F], F]: ...

    def guard_tool(
        self,
        fn: F | None = None,
        /,
        *,
        name: str | None = None,
        server: str | None = None,
        description: str | None = None,
        wait_for_approval: float | None = None,
    ) -> F | Callable[[F], F]:
        """Decorate an async tool function; see `celgate_client.guard_tool`. Sync tools need a `Client`."""
        from celgate_client._guard import guard

        return guard(self, fn, name=name, server=server, description=description, wait=wait_for_approval)

"""`guard_tool`: check a tool call before its body runs and its result before anyone sees it.

Arguments are bound to parameter names with `inspect.signature(...).bind`, defaults applied, so
the policy sees ``tool.args.<parameter>`` exactly as the function receives it. A string argument
that a policy redacts (``tool.args.<key>``) is replaced before the call.

Results: a ``str`` is checked as it is and a redacted result is the rewritten text. Anything else
(dict, list, numbers, pydantic models) is JSON-encoded for the check; when a policy redacts it, the
redacted JSON is decoded back to Python values (and, should a redaction have broken the JSON, the
redacted text itself is returned - never the original).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from celgate_client import _request as rq
from celgate_client.decision import REQUIRE_APPROVAL, Decision

if TYPE_CHECKING:
    from celgate_client.client import AsyncClient, Client

F = TypeVar("F", bound=Callable[..., Any])

_ARG_PREFIX = "tool.args."


def guard(
    client: Client | AsyncClient,
    fn: F | None,
    *,
    name: str | None,
    server: str | None,
    description: str | None,
    wait: float | None = None,
) -> F | Callable[[F], F]:
    if wait is not None and wait < 0:
        raise ValueError("wait_for_approval must be >= 0 seconds")

    def decorate(f: F) -> F:
        return _wrap(client, f, name or f.__name__, server, description, wait)

    return decorate(fn) if fn is not None else decorate


def _wrap(
    client: Client | AsyncClient, fn: F, name: str, server: str | None, description: str | None, wait: float | None
) -> F:
    from celgate_client.client import AsyncClient

    sig = inspect.signature(fn)
    is_async = inspect.iscoroutinefunction(fn)
    if isinstance(client, AsyncClient) and not is_async:
        raise TypeError(f"AsyncClient.guard_tool needs an async function; {name!r} is sync: use a Client")
    desc = description if description is not None else (inspect.getdoc(fn) or "").split("\n\n")[0] or None
    tool_kw = {"server": server}

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[inspect.BoundArguments, dict[str, Any]]:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        values: dict[str, Any] = {}
        for i, (pname, value) in enumerate(bound.arguments.items()):
            kind = sig.parameters[pname].kind
            if i == 0 and pname in ("self", "cls"):
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:
                values.update(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                values[pname] = list(value)
            else:
                values[pname] = value
        return bound, rq.jsonable(values)

    def apply_args(bound: inspect.BoundArguments, decision: Decision) -> None:
        for path, new in decision.rewritten.items():
            if not path.startswith(_ARG_PREFIX):
                continue
            key = path[len(_ARG_PREFIX) :]
            if isinstance(bound.arguments.get(key), str):
                bound.arguments[key] = new
                continue
            for pname, value in bound.arguments.items():
                if sig.parameters[pname].kind is inspect.Parameter.VAR_KEYWORD and isinstance(value.get(key), str):
                    value[key] = new

    if is_async:

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            bound, values = bind(args, kwargs)
            before = await _acheck(client, "check_tool_call", name, values, server=server, description=desc)
            if before.effect == REQUIRE_APPROVAL and wait is not None and before.approval_id:
                status = await _acheck(client, "wait_for_approval", before.approval_id, wait)
                if status.state != "pending":  # retried with the id: allowed once, or refused saying why
                    before = await _acheck(
                        client,
                        "check_tool_call",
                        name,
                        values,
                        server=server,
                        description=desc,
                        approval_id=before.approval_id,
                    )
            before.raise_for_effect()
            apply_args(bound, before)
            result = await fn(*bound.args, **bound.kwargs)
            after = await _acheck(client, "check_tool_result", name, result, args=values, **tool_kw)
            return _result(result, after.raise_for_effect())

        async_wrapper.__celgate_tool__ = name  # type: ignore[attr-defined]
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound, values = bind(args, kwargs)
        before = client.check_tool_call(name, values, server=server, description=desc)  # type: ignore[union-attr]
        if before.effect == REQUIRE_APPROVAL and wait is not None and before.approval_id:
            status = client.wait_for_approval(before.approval_id, wait)  # type: ignore[union-attr]
            if status.state != "pending":  # retried with the id: allowed once, or refused saying why
                before = client.check_tool_call(  # type: ignore[union-attr]
                    name, values, server=server, description=desc, approval_id=before.approval_id
                )
        before.raise_for_effect()
        apply_args(bound, before)
        result = fn(*bound.args, **bound.kwargs)
        after = client.check_tool_result(name, result, args=values, **tool_kw)  # type: ignore[union-attr]
        return _result(result, after.raise_for_effect())

    wrapper.__celgate_tool__ = name  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


async def _acheck(client: Client | AsyncClient, method: str, *args: Any, **kwargs: Any) -> Decision:
    """Await an AsyncClient; run a sync Client in a thread so the event loop is never blocked."""
    from celgate_client.client import AsyncClient

    if isinstance(client, AsyncClient):
        return await getattr(client, method)(*args, **kwargs)
    return await asyncio.to_thread(getattr(client, method), *args, **kwargs)


def _result(result: Any, decision: Decision) -> Any:
    new = decision.rewritten.get("tool.result")
    if new is None:
        return result
    if isinstance(result, str | bytes):
        return new
    try:
        return json.loads(new)
    except ValueError:
        return new

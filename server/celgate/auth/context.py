"""The caller of the request being served, for code that runs inside a door's handler.

Doors set it once per request (the HTTP gate, the gRPC interceptor) before any handler runs:

    from celgate.auth import current_caller
    caller = current_caller()          # in a FastAPI route or a gRPC servicer method
    if "approver" not in caller.roles: ...

A context variable, so it follows the request across `await` and into the thread a sync FastAPI
route or a gRPC handler runs in. Outside a request it is None.
"""

from __future__ import annotations

from contextvars import ContextVar

from celgate.auth.caller import Caller

_current: ContextVar[Caller | None] = ContextVar("celgate_caller", default=None)


def current_caller() -> Caller | None:
    return _current.get()


def set_caller(caller: Caller | None) -> None:
    """Sets the caller for the rest of this request's context (doors only)."""
    _current.set(caller)

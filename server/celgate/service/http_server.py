"""The HTTP server around the app: slow clients timed out, and a SIGTERM that drops nothing accepted.

uvicorn times out idle keep-alive connections, but not a connection that never sends a request,
or sends half of its headers and stalls (each holds a socket and a file descriptor for good). The
protocol here gives a connection's first request from the moment it opens, and every later request
from the moment it begins, `request_timeout` to complete its headers, or closes the connection (the
app bounds the body the same way, see `api.http_app`).

uvicorn's graceful shutdown closes the listening socket first — connections the kernel accepted but
the server had not yet taken from the backlog are reset — and then closes every connection whose
request has not *started*, even when its bytes are already in the socket buffer. `DrainingServer`
instead (1) keeps taking connections from the backlog until it has been empty for a moment, (2)
stops listening, (3) gives connections a moment to read what their clients already sent, and only
then (4) lets uvicorn finish the requests in flight and close the rest. Readiness reports
"draining" from the first step, so a load balancer stops sending new work.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_QUIET_SECONDS = 0.2  # the backlog counts as drained after this long without a new connection
_SETTLE_SECONDS = 0.2  # time for accepted connections to read what their clients already sent


def guarded(base: type[HttpToolsProtocol], request_timeout: float) -> type[HttpToolsProtocol]:
    """`base` (uvicorn's httptools protocol or a subclass) with a deadline on each request's headers.

    One timer per connection, not one per request: a request beginning only notes the time (and arms
    the timer if none is pending), headers completing only clear that note; when the timer fires it
    closes the connection if the noted request is past its deadline, or re-arms itself for the rest
    of it. So each request's headers get exactly `request_timeout`, and a keep-alive connection
    answering thousands of requests a second no longer creates and cancels a timer for each.
    """

    class Guarded(base):  # type: ignore[valid-type,misc]
        _head_timer: asyncio.TimerHandle | None = None
        _head_since: float | None = None  # when the request whose headers are awaited began

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_head()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_since is None:
                self._await_head()

        def on_headers_complete(self) -> None:
            self._head_since = None
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_since = None
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._head_since = None  # the keep-alive timer takes over until the next request begins

        def _await_head(self) -> None:
            self._head_since = self.loop.time()
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(request_timeout, self._head_check)

        def _head_check(self) -> None:
            self._head_timer = None
            since = self._head_since
            if since is None:  # headers complete (or answered) since: nothing to time
                return
            left = since + request_timeout - self.loop.time()
            if left > 0:  # a later request began after the timer was armed: wait for its own deadline
                self._head_timer = self.loop.call_later(left, self._head_check)
                return
            self._head_since = None
            idle = self.cycle is None or self.cycle.response_complete  # no request is being answered
            if idle and not self.transport.is_closing():
                with contextlib.suppress(Exception):
                    self.transport.write(b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n")
                self.transport.close()

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with the worker owning signals and a shutdown that drains the backlog."""

    def __init__(self, config: uvicorn.Config, *, on_draining: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_draining = on_draining
        self._listening: list[socket.socket] = []

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the worker owns signal handling
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._listening = list(sockets or ())
        await super().startup(sockets=sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_draining is not None:
            self._on_draining()
        await self._drain_backlog(self.config.timeout_graceful_shutdown or 10)
        for server in self.servers:
            server.close()
        await asyncio.sleep(_SETTLE_SECONDS)
        await super().shutdown(sockets=sockets)

    async def _drain_backlog(self, limit: float) -> None:
        """Waits until no connection is waiting in a listening socket's backlog (bounded by `limit`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        quiet_since = loop.time()
        while loop.time() < deadline and self._listening:
            pending = _backlog_pending(self._listening)
            now = loop.time()
            if pending:
                quiet_since = now
            elif now - quiet_since >= _QUIET_SECONDS:
                return
            await asyncio.sleep(0.02)  # the event loop accepts what is pending meanwhile


def _backlog_pending(sockets: list[socket.socket]) -> bool:
    try:
        readable, _, _ = select.select(sockets, [], [], 0)
    except (OSError, ValueError):  # closed already
        return False
    return bool(readable)

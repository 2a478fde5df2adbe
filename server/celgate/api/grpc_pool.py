"""The thread pool grpcio's sync server runs handlers on: the least a call needs, nothing more.

grpcio hands every call to `thread_pool.submit(...)` and only ever calls `add_done_callback` on what
comes back (to count calls in flight). `concurrent.futures.ThreadPoolExecutor` pays per call for
what nobody here uses: a `Future` with its own condition variable and result, a work item, an
idle-thread semaphore released and re-acquired, a thread-count check. Profiled under load
(docs/performance.md, "Service"), that bookkeeping held the GIL about a tenth of the time the
gRPC door held it. `HandlerPool` keeps a fixed set of threads started up front, one queue, and a
call record that runs its callback once.

Handlers raise nothing into the pool (grpcio catches and logs every exception of a call itself);
one that does anyway is logged here and the thread carries on.
"""

from __future__ import annotations

import logging
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

log = logging.getLogger("celgate.grpc")

_STOP = object()


class CallDone:
    """What `submit` returns: runs the callbacks added once the call is done, each exactly once."""

    __slots__ = ("_callbacks", "_done", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._callbacks: list[Callable[[Any], Any]] = []

    def add_done_callback(self, fn: Callable[[Any], Any]) -> None:
        with self._lock:
            if not self._done:
                self._callbacks.append(fn)
                return
        fn(self)

    def done(self) -> bool:
        return self._done

    def _finish(self) -> None:
        with self._lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn(self)
            except Exception:  # pragma: no cover - grpcio's callback only decrements a counter
                log.exception("gRPC call completion callback failed")


class HandlerPool:
    """A fixed pool of `threads` daemon threads, enough of `concurrent.futures.Executor` for grpcio.

    The threads hold the queue, not the pool: a pool nobody references any more (a server that was
    dropped without `shutdown`, as in tests) stops its threads like `ThreadPoolExecutor` does.
    """

    def __init__(self, threads: int, name: str = "celgate-grpc") -> None:
        if threads < 1:
            raise ValueError("a handler pool needs at least one thread")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._threads = [
            threading.Thread(target=_work, args=(self._queue,), name=f"{name}_{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()
        self._stop = weakref.finalize(self, _stop_threads, self._queue, threads)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> CallDone:
        if self._closed:
            raise RuntimeError("the handler pool is shut down")
        done = CallDone()
        self._queue.put((fn, args, done))
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stops the threads after the calls already queued; with `wait`, joins them."""
        if self._closed:
            return
        self._closed = True
        self._stop()
        if wait:
            for thread in self._threads:
                thread.join()


def _stop_threads(calls: queue.SimpleQueue[Any], threads: int) -> None:
    for _ in range(threads):
        calls.put(_STOP)


def _work(calls: queue.SimpleQueue[Any]) -> None:
    get = calls.get
    while True:
        item = get()
        if item is _STOP:
            return
        fn, args, done = item
        try:
            fn(*args)
        except Exception:  # pragma: no cover - grpcio catches a handler's exceptions itself
            log.exception("gRPC handler failed outside grpcio's own error handling")
        finally:
            done._finish()
        del item, fn, args, done  # drop the call's references before waiting for the next one

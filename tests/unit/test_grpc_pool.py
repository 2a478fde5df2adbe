"""The gRPC handler pool: every submitted call runs once, its completion callback runs once, and a
real grpcio server serves concurrent calls on it (grpcio uses only `submit` and `add_done_callback`)."""

from __future__ import annotations

import gc
import threading
import time
from concurrent import futures

import grpc
import pytest

from celgate.api.grpc_pool import HandlerPool


def test_every_call_runs_once_and_its_callback_once() -> None:
    pool = HandlerPool(3, "t")
    ran: list[int] = []
    completed: list[int] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        with lock:
            ran.append(i)

    try:
        for i in range(500):
            done = pool.submit(call, i)
            done.add_done_callback(lambda d, i=i: completed.append(i))
    finally:
        pool.shutdown(wait=True)
    assert sorted(ran) == list(range(500))
    assert sorted(completed) == list(range(500))


def test_callback_added_after_completion_runs_at_once() -> None:
    pool = HandlerPool(1, "t")
    try:
        done = pool.submit(lambda: None)
        deadline = time.monotonic() + 5
        while not done.done() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert done.done()
        seen: list[object] = []
        done.add_done_callback(seen.append)
        assert seen == [done]
    finally:
        pool.shutdown()


def test_a_failing_call_neither_kills_the_thread_nor_skips_its_callback() -> None:
    pool = HandlerPool(1, "t")
    completed = threading.Event()
    try:
        pool.submit(lambda: 1 / 0).add_done_callback(lambda d: None)
        pool.submit(lambda: None).add_done_callback(lambda d: completed.set())
        assert completed.wait(5)
    finally:
        pool.shutdown()


def test_shutdown_stops_the_threads_and_refuses_new_calls() -> None:
    pool = HandlerPool(2, "t-stop")
    pool.shutdown(wait=True)
    assert not any(t.name.startswith("t-stop_") for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    with pytest.raises(ValueError):
        HandlerPool(0)


def test_a_dropped_pool_stops_its_threads() -> None:
    HandlerPool(2, "t-dropped")
    gc.collect()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("t-dropped_") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name.startswith("t-dropped_") for t in threading.enumerate())


def test_grpcio_serves_concurrent_calls_on_the_pool() -> None:
    def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
        return request[::-1]

    handler = grpc.method_handlers_generic_handler("t.Echo", {"Do": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.server(HandlerPool(4, "t-grpc"))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/t.Echo/Do")
            with futures.ThreadPoolExecutor(8) as clients:
                answers = list(clients.map(lambda i: call(b"abc%d" % i, timeout=10), range(200)))
        assert answers == [(b"abc%d" % i)[::-1] for i in range(200)]
    finally:
        server.stop(None).wait(5)

"""Never stall: one large request cannot delay health checks, slow clients are cut off, and
SIGTERM answers every request already accepted before the process exits 0.

Real `celgate serve` processes on loopback; every loop is bounded in count and time, and nothing
asserts a duration: the tests assert the order things happen in.
"""

from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from collections.abc import Iterator

import orjson
import pytest

from tests.e2e.conftest import Celgate, start

FAST_START = {"CELGATE_RUN_POLICY_TESTS": "false"}  # the shipped library's own suites run elsewhere

DOC = ("The quarterly report says revenue grew in the north region; contact sales for details. " * 9)[:780]


def retrieval(n: int) -> bytes:
    # Each document its own text: detector results are cached across decisions by text.
    docs = [{"id": f"d{i}", "content": f"{i}: {DOC}", "source": "kb"} for i in range(n)]
    return orjson.dumps({"action": "retrieval", "principal": {"id": "u1"}, "documents": docs})


def _addr(cg: Celgate) -> tuple[str, int]:
    host, port = cg.http_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _post(body: bytes, path: str = "/v1/check") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"connection: close\r\n\r\n" + body


def _read_response(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.fixture(scope="module")
def cg() -> Iterator[Celgate]:
    server = start(extra_args=["--request-timeout", "2"], env=FAST_START)
    yield server
    server.stop()


def test_a_large_request_does_not_delay_health_checks(cg: Celgate) -> None:
    """A 1.6 MB retrieval request stalled /healthz for 5 s: decisions ran on the event loop."""
    body = retrieval(2000)  # 1.6 MB, about a second or more of deciding
    order: list[str] = []
    big = socket.create_connection(_addr(cg), timeout=60)

    def send_big() -> None:
        big.sendall(_post(body))
        response = _read_response(big)
        order.append("big:" + response.split(b"\r\n", 1)[0].decode())

    sender = threading.Thread(target=send_big)
    sender.start()
    time.sleep(0.05)  # the body is on its way; deciding it outlasts 5 probes (0.3 s let a quiet box finish first)
    for _ in range(5):  # bounded
        status, _ = cg.get("/healthz", timeout=30)
        order.append(f"healthz:{status}")
    sender.join(60)
    big.close()
    assert order[-1] == "big:HTTP/1.1 200 OK", order
    assert order[:5] == ["healthz:200"] * 5, order  # every probe answered while the big one was decided


def test_a_client_that_never_finishes_its_headers_is_cut_off(cg: Celgate) -> None:
    slow = socket.create_connection(_addr(cg), timeout=30)
    slow.sendall(b"POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-")  # ...and nothing more
    silent = socket.create_connection(_addr(cg), timeout=30)  # connects, never sends a byte
    assert _read_response(slow).startswith(b"HTTP/1.1 408")
    assert _read_response(silent).startswith(b"HTTP/1.1 408")
    slow.close()
    silent.close()
    status, _ = cg.get("/healthz")
    assert status == 200


def test_a_body_that_never_finishes_gets_408(cg: Celgate) -> None:
    slow = socket.create_connection(_addr(cg), timeout=30)
    head = b"POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
    slow.sendall(head + b"{")  # ...and 99 bytes that never come
    response = _read_response(slow)
    slow.close()
    assert response.startswith(b"HTTP/1.1 408"), response[:200]
    assert b"request_timeout" in response


def test_a_later_request_on_a_kept_alive_connection_gets_its_own_header_deadline(cg: Celgate) -> None:
    """One header timer per connection: after an answered request, the next one that stalls in its
    headers is still cut off (and a body sent in two parts inside the deadline is still decided)."""
    body = b'{"action":"tool_call","principal":{"id":"u1"},"tool":{"name":"t"}}'
    conn = socket.create_connection(_addr(cg), timeout=30)
    head = (
        f"POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    conn.sendall(head.encode() + body[:10])
    time.sleep(0.3)  # the rest of the body arrives later, well inside the 2 s deadline
    conn.sendall(body[10:])
    first = b""
    while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):  # bounded by the socket timeout
        chunk = conn.recv(65536)
        assert chunk, first
        first += chunk
    assert first.startswith(b"HTTP/1.1 200"), first[:200]
    conn.sendall(b"POST /v1/check HTTP/1.1\r\nhost: x\r\ncontent-")  # the next request stalls in its headers
    assert _read_response(conn).startswith(b"HTTP/1.1 408")
    conn.close()


def test_sigterm_answers_every_accepted_request_then_exits_0(start_celgate) -> None:
    """SIGTERM dropped 6 of 9 requests sent 0.3 s before it (one worker)."""
    cg = start_celgate(workers=1, env=FAST_START)
    body = _post(retrieval(100))  # 80 KB: decided on the offload threads, some tens of ms each
    n = 24
    sent = threading.Barrier(n + 1, timeout=60)

    def one() -> bytes:
        sock = socket.create_connection(_addr(cg), timeout=60)  # accepted by the kernel from here on
        try:
            sock.sendall(body)
            sent.wait()
            return _read_response(sock)
        finally:
            sock.close()

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(one) for _ in range(n)]
        sent.wait()  # every request is on the wire...
        exit_code = cg.stop(timeout=60)  # ...when SIGTERM arrives
        answers = [f.result(timeout=60) for f in futures]
    assert exit_code == 0, cg.stderr()
    statuses = [a.split(b"\r\n", 1)[0] for a in answers]
    assert statuses == [b"HTTP/1.1 200 OK"] * n, statuses

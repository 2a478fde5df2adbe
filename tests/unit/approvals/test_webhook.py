"""The new-approval webhook: a Slack-compatible JSON POST off the decision's path, retried a bounded
number of times; a dead or slow receiver never holds up `notify` (the decision)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import celgate
from celgate.approvals import Approvals, HoldReason, new_id
from celgate.approvals.model import Approval
from celgate.approvals.sqlite import SQLiteStore
from celgate.approvals.webhook import Webhook
from celgate.stores import Stores
from tests.unit.approvals.policies import transfer, write_repo


class Receiver(HTTPServer):
    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.bodies: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.delay = delay

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.attempts += 1
        time.sleep(self.server.delay)
        if self.server.attempts <= self.server.fail_first:
            self.send_response(500)
            self.end_headers()
            return
        self.server.bodies.append({"content-type": self.headers["content-type"], **json.loads(body)})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(**getattr(request, "param", {}))
    t = threading.Thread(target=r.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield r
    r.shutdown()
    r.server_close()


def approval() -> Approval:
    return Approval(
        id=new_id(),
        fingerprint="f",
        action="tool_call",
        principal="alice",
        tool="transfer_funds",
        session="s1",
        reasons=(HoldReason("payments", "big-transfer", "transfer of 5000 needs a human"),),
        request={},
        decision_id="d1",
        created_at=1.0,
        expires_at=3601.0,
    )


def wait_for(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_posts_slack_text_and_the_approval(receiver: Receiver) -> None:
    hook = Webhook(receiver.url, inbox_url="https://celgate.example/")
    a = approval()
    hook.notify(a)
    wait_for(lambda: receiver.bodies)
    body = receiver.bodies[0]
    assert body["content-type"] == "application/json"
    assert body["text"] == (
        "Approval needed: tool_call transfer_funds by alice (transfer of 5000 needs a human). "
        f"Id {a.id} — https://celgate.example/ui/approvals#{a.id}"
    )
    assert body["approval"]["id"] == a.id and body["approval"]["state"] == "pending"
    hook.close()


@pytest.mark.parametrize("receiver", [{"fail_first": 2}], indirect=True)
def test_retries_then_delivers(receiver: Receiver) -> None:
    hook = Webhook(receiver.url, attempts=3, backoff_seconds=0.01)
    hook.notify(approval())
    wait_for(lambda: hook.delivered == 1)
    assert receiver.attempts == 3 and len(receiver.bodies) == 1
    hook.close()


@pytest.mark.parametrize("receiver", [{"fail_first": 100}], indirect=True)
def test_gives_up_after_bounded_attempts(receiver: Receiver) -> None:
    hook = Webhook(receiver.url, attempts=3, backoff_seconds=0.01)
    hook.notify(approval())
    wait_for(lambda: hook.failed == 1)
    assert receiver.attempts == 3 and receiver.bodies == []
    hook.close()


def test_a_dead_receiver_never_blocks_a_decision(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that accepts nothing: connects hang until the timeout
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        hook = Webhook(f"http://127.0.0.1:{port}/", timeout_seconds=2, attempts=2, queue_size=2)
        approvals = Approvals(SQLiteStore(tmp_path / "a.db"), on_created=hook.notify)
        engine = celgate.load(write_repo(tmp_path / "p"), stores=Stores(approvals=approvals))
        started = time.monotonic()
        effects = [engine.check(transfer(amount=2000.0 + i)).effect for i in range(10)]
        elapsed = time.monotonic() - started
        assert effects == ["require_approval"] * 10
        assert elapsed < 2  # ten decisions while the receiver holds the first POST for 2 s
        assert hook.dropped >= 7  # the queue holds 2: the rest are dropped and counted, not waited for
        assert approvals.count_pending() == 10  # every approval is stored all the same


def test_a_store_refuses_nothing_when_the_hook_is_down(receiver: Receiver, tmp_path: Path) -> None:
    hook = Webhook(receiver.url)
    approvals = Approvals(SQLiteStore(tmp_path / "a.db"), on_created=hook.notify)
    engine = celgate.load(write_repo(tmp_path / "p"), stores=Stores(approvals=approvals))
    d = engine.check(transfer())
    wait_for(lambda: receiver.bodies)
    assert receiver.bodies[0]["approval"]["id"] == d.approval_id
    hook.close()

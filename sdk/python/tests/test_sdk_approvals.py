"""Waiting for a human: `wait_for_approval` and `guard_tool(wait_for_approval=...)` against a real
`celgate serve`, over HTTP and gRPC.

The approver here writes to the same approval store file the server uses (the server's own code,
`celgate.approvals`): the approver API and its authentication are tested with the server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Celgate, start_celgate

from celgate_client import ApprovalRequired, ApprovalStatus, AsyncClient, CelgateError, Client, PolicyDenied

USER = {"id": "u1", "roles": ["user"]}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Celgate, Path]]:
    workdir = tmp_path_factory.mktemp("celgate-approvals")
    store = workdir / "approvals.db"
    server = start_celgate(log_dir=workdir, extra_args=("--approval-store", str(store)))
    yield server, store
    server.stop()


def approve_later(store: Path, approval_id: str, approve: bool = True, after: float = 0.3) -> threading.Thread:
    from celgate.approvals import Approvals, open_store

    def run() -> None:
        time.sleep(after)
        desk = Approvals(open_store(str(store)))
        desk.decide(approval_id, approve, "bob", "ok" if approve else "no")
        desk.close()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_wait_then_retry_goes_through_once(served, transport):
    server, store = served
    with Client(server.url(transport), principal=USER, session="s-wait") as client:
        held = client.check_tool_call("transfer_funds", {"amount": 5000, "to": "acct-1"})
        assert held.effect == "require_approval"
        timed_out = client.wait_for_approval(held.approval_id, timeout=0.2, poll_interval=0.05)
        assert timed_out == ApprovalStatus(held.approval_id, "pending", timed_out.expires_at)
        t = approve_later(store, held.approval_id)
        status = client.wait_for_approval(held.approval_id, timeout=20, poll_interval=0.1)
        t.join(10)
        assert status.approved and status.decided_by == "bob" and status.reason == "ok"
        ok = client.check_tool_call("transfer_funds", {"amount": 5000, "to": "acct-1"}, approval_id=held.approval_id)
        assert ok.allowed
        again = client.check_tool_call("transfer_funds", {"amount": 5000, "to": "acct-1"}, approval_id=held.approval_id)
        assert again.effect == "deny" and "already used" in again.message
        assert client.wait_for_approval(held.approval_id, timeout=1).state == "used"
        with pytest.raises(CelgateError, match="not found"):
            client.wait_for_approval("apr_unknown", timeout=1)


def test_guard_tool_waits_then_runs(served, transport):
    server, store = served
    ran: list[float] = []
    with Client(server.url(transport), principal=USER, session=f"s-guard-{transport}") as client:

        @client.guard_tool(wait_for_approval=20)
        def transfer_funds(amount: float, to: str) -> str:
            ran.append(amount)
            return f"sent {amount} to {to}"

        def approve_when_asked(approve: bool) -> threading.Thread:
            def run() -> None:
                from celgate.approvals import Approvals, open_store

                desk = Approvals(open_store(str(store)))
                for _ in range(200):  # bounded: about 10 s
                    pending = [
                        a
                        for a in desk.list(state="pending", principal="u1", tool="transfer_funds")
                        if a.session == f"s-guard-{transport}"
                    ]
                    if pending:
                        desk.decide(pending[0].id, approve, "bob", "fine" if approve else "no way")
                        break
                    time.sleep(0.05)
                desk.close()

            t = threading.Thread(target=run)
            t.start()
            return t

        t = approve_when_asked(True)
        assert transfer_funds(5000, "acct-2") == "sent 5000 to acct-2"
        t.join(10)
        assert ran == [5000]
        t = approve_when_asked(False)
        with pytest.raises(PolicyDenied, match="denied by bob: no way"):
            transfer_funds(6000, "acct-3")
        t.join(10)
        assert ran == [5000]

        @client.guard_tool(name="transfer_funds", wait_for_approval=0.2)
        def impatient(amount: float, to: str) -> str:
            ran.append(amount)
            return "sent"

        with pytest.raises(ApprovalRequired):
            impatient(7000, "acct-4")
        assert ran == [5000]


def test_async_wait(served, transport):
    server, store = served

    async def main() -> tuple[str, bool]:
        async with AsyncClient(server.url(transport), principal=USER, session=f"s-async-{transport}") as client:
            held = await client.check_tool_call("transfer_funds", {"amount": 4000, "to": "acct-5"})
            t = approve_later(store, held.approval_id, approve=False)
            status = await client.wait_for_approval(held.approval_id, timeout=20, poll_interval=0.1)
            t.join(10)
            retry = await client.check_tool_call(
                "transfer_funds", {"amount": 4000, "to": "acct-5"}, approval_id=held.approval_id
            )
            return status.state, retry.allowed

    assert asyncio.run(main()) == ("denied", False)


def test_bad_arguments(served):
    server, _ = served
    with Client(server.http_url) as client:
        with pytest.raises(ValueError):
            client.wait_for_approval("", timeout=1)
        with pytest.raises(ValueError):
            client.wait_for_approval("apr_x", timeout=1, poll_interval=0)
        with pytest.raises(ValueError):
            client.guard_tool(wait_for_approval=-1)

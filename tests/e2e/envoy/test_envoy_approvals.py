"""Envoy and MCP wait and go on: the denial carries the approval id (header and body); a retry with
`x-celgate-approval-id` passes once after approval, and is refused before, after and when changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from celgate.approvals import Approvals, open_store
from tests.e2e.envoy.harness import Gateway, Keys, _gateway

pytestmark = pytest.mark.e2e


def rpc(name: str, args: dict[str, object], rpc_id: int = 7) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": {"name": name, "arguments": args}}


@pytest.fixture(scope="module")
def approvals_gateway(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Path]]:
    workdir = tmp_path_factory.mktemp("envoy-approvals")
    store = workdir / "approvals.db"
    for gw in _gateway(keys, workdir, extra_args=("--approval-store", str(store))):
        yield gw, store


def test_mcp_call_waits_for_approval_then_goes_on_once(approvals_gateway: tuple[Gateway, Path]) -> None:
    gateway, store = approvals_gateway
    # The approver side, on the very store the server uses (the HTTP approver API is tested on its own).
    desk = Approvals(open_store(str(store)))
    call = rpc("transfer_funds", {"amount": 5000, "to": "acct-9"})
    with gateway.client() as c:
        held = c.post("/mcp", json=call)
        assert held.status_code == 403
        approval_id = held.headers["x-celgate-approval-id"]
        assert held.json()["error"]["data"] == {
            "code": "approval_required",
            "decision_id": held.headers["x-celgate-decision-id"],
            "approval_id": approval_id,
        }
        assert desk.require(approval_id).state == "pending" and desk.require(approval_id).principal == "u1"

        waiting = c.post("/mcp", json=call, headers={"x-celgate-approval-id": approval_id})
        assert waiting.status_code == 403 and "still pending" in waiting.json()["error"]["message"]
        assert all("transfer_funds" not in str(x) for x in gateway.mcp.received)

        desk.decide(approval_id, True, "bob", "ok")
        retry = {"x-celgate-approval-id": approval_id}
        changed = c.post("/mcp", json=rpc("transfer_funds", {"amount": 9000, "to": "acct-9"}), headers=retry)
        assert changed.status_code == 403 and "different request" in changed.json()["error"]["message"]

        ok = c.post("/mcp", json=call, headers={"x-celgate-approval-id": approval_id})
        assert ok.status_code == 200, ok.text
        assert "transfer_funds" in str(gateway.mcp.received[-1])

        again = c.post("/mcp", json=call, headers={"x-celgate-approval-id": approval_id})
        assert again.status_code == 403 and "already used" in again.json()["error"]["message"]
        assert again.headers["x-celgate-approval-id"] == approval_id
    assert desk.require(approval_id).state == "used"
    desk.close()


def test_denied_approval_is_refused_through_envoy(approvals_gateway: tuple[Gateway, Path]) -> None:
    gateway, store = approvals_gateway
    desk = Approvals(open_store(str(store)))
    call = rpc("transfer_funds", {"amount": 7000, "to": "acct-1"}, rpc_id=9)
    with gateway.client() as c:
        approval_id = c.post("/mcp", json=call).headers["x-celgate-approval-id"]
        desk.decide(approval_id, False, "bob", "not this one")
        r = c.post("/mcp", json=call, headers={"x-celgate-approval-id": approval_id})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == f"approval {approval_id} was denied by bob: not this one"
    desk.close()

"""The approver API on HTTP, in process: the pinned paths, who may use them, and every error shape.

Callers authenticate with API keys through the HTTP door's real authentication (`celgate.auth`)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import celgate
from celgate.api.decide import Decider
from celgate.api.http_app import create_app
from celgate.api.state import PolicyState
from celgate.approvals import Approvals
from celgate.approvals.sqlite import SQLiteStore
from celgate.audit import DecisionLog
from celgate.auth import Authenticator, AuthSettings
from celgate.stores import Stores
from tests.unit.approvals.policies import transfer, write_repo


def key(who: str) -> str:
    return f"cg_test_{who}_key_0123456789"


# Callers as `celgate serve` would have them from its config: API keys stored as their sha256.
CALLERS = [
    {"id": "bob", "key_sha256": hashlib.sha256(key("bob").encode()).hexdigest(), "roles": ["approver"]},
    {"id": "alice", "key_sha256": hashlib.sha256(key("alice").encode()).hexdigest(), "roles": ["approver"]},
    {"id": "carol", "key_sha256": hashlib.sha256(key("carol").encode()).hexdigest(), "roles": ["user"]},
    *(
        {"id": f"u{i}", "key_sha256": hashlib.sha256(key(f"u{i}").encode()).hexdigest(), "roles": ["approver"]}
        for i in range(6)
    ),
]


def as_(who: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key(who)}"}


class ListSink:
    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.lines.extend(data.splitlines())

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


BOB = as_("bob")
ALICE_APPROVER = as_("alice")


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def client(tmp_path: Path, sink: ListSink) -> Iterator[TestClient]:
    stores = Stores(approvals=Approvals(SQLiteStore(tmp_path / "a.db"), ttl_seconds=600))
    state = PolicyState("test")
    state.activate(celgate.load(write_repo(tmp_path / "p")))
    log = DecisionLog(sink)
    # Anonymous callers are allowed (the loopback default) so the agent's /v1/check needs no key.
    authenticator = Authenticator(AuthSettings.from_dict({"callers": CALLERS}), allow_anonymous=True)
    app = create_app(Decider(state, stores=stores, log=log), state, authenticator=authenticator)
    with TestClient(app) as c:
        yield c
    log.close()


def hold(client: TestClient, **kw: Any) -> str:
    r = client.post("/v1/check", json=transfer(**kw))
    assert r.status_code == 200 and r.json()["effect"] == "require_approval", r.text
    return str(r.json()["approval_id"])


def test_the_whole_loop(client: TestClient, sink: ListSink) -> None:
    approval_id = hold(client)
    listed = client.get("/v1/approvals?state=pending", headers=BOB).json()["approvals"]
    assert [a["id"] for a in listed] == [approval_id]
    one = client.get(f"/v1/approvals/{approval_id}", headers=BOB).json()
    assert one["state"] == "pending" and one["principal"] == "alice" and one["tool"] == "transfer_funds"
    assert one["reasons"] == [
        {
            "policy": "payments",
            "rule": "big-transfer",
            "effect": "require_approval",
            "message": "transfer of 5000 needs a human",
        }
    ]
    assert "AKIAIOSFODNN7EXAMPLE" not in str(one) and one["request"]["tool"]["args"]["to"] == "acct-42"
    assert one["expires_at"].endswith("Z") and one["decided_at"] == ""
    r = client.post(f"/v1/approvals/{approval_id}/approve", json={"reason": "called alice"}, headers=BOB)
    assert r.status_code == 200 and r.json()["state"] == "approved" and r.json()["decided_by"] == "bob"
    ok = client.post("/v1/check", json={**transfer(), "approval_id": approval_id}).json()
    assert ok["effect"] == "allow"
    again = client.post("/v1/check", json={**transfer(), "approval_id": approval_id}).json()
    assert again["effect"] == "deny" and "already used" in again["message"]
    assert client.get(f"/v1/approvals/{approval_id}", headers=BOB).json()["state"] == "used"
    metrics = client.get("/metrics").text
    assert 'celgate_approval_actions_total{outcome="approved"}' in metrics
    assert "celgate_approvals_pending 0.0" in metrics
    import time

    for _ in range(100):  # the log writer is a background thread
        events = [line for line in sink.lines if b'"event":"approval"' in line]
        if events:
            break
        time.sleep(0.02)
    assert events and b'"outcome":"approved"' in events[0] and b'"by":"bob"' in events[0]


def test_pending_gauge(client: TestClient) -> None:
    hold(client)
    hold(client, amount=2000.0)
    assert "celgate_approvals_pending 2.0" in client.get("/metrics").text


def test_who_may(client: TestClient) -> None:
    approval_id = hold(client)
    assert client.get("/v1/approvals").status_code == 401
    assert client.get("/v1/approvals").headers["www-authenticate"].startswith("Bearer")
    r = client.get("/v1/approvals", headers=as_("carol"))
    assert r.status_code == 403 and "approver" in r.json()["error"]["message"]
    r = client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=as_("carol"))
    assert r.status_code == 403
    r = client.post(f"/v1/approvals/{approval_id}/approve", json={"reason": "mine"}, headers=ALICE_APPROVER)
    assert r.status_code == 403 and "cannot approve" in r.json()["error"]["message"]
    assert client.get(f"/v1/approvals/{approval_id}", headers=BOB).json()["state"] == "pending"


def test_errors_name_the_state(client: TestClient) -> None:
    assert client.get("/v1/approvals/apr_nope", headers=BOB).status_code == 404
    r = client.post("/v1/approvals/apr_nope/deny", json={"reason": "x"}, headers=BOB)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    approval_id = hold(client)
    assert client.post(f"/v1/approvals/{approval_id}/deny", json={"reason": "no"}, headers=BOB).status_code == 200
    for verb, done in (("approve", "approved"), ("deny", "denied")):
        r = client.post(f"/v1/approvals/{approval_id}/{verb}", json={}, headers=BOB)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == {
            "code": "conflict",
            "message": f"approval {approval_id} is denied by bob; it can no longer be {done}",
        }
    denied = client.post("/v1/check", json={**transfer(), "approval_id": approval_id}).json()
    assert denied["effect"] == "deny" and "was denied by bob: no" in denied["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"[1]", ""), (b'{"reason": 5}', "reason"), (b'{"why": "x"}', "why"), (b"{", ""), (b'"x"', "")],
)
def test_bad_bodies(client: TestClient, body: bytes, field: str) -> None:
    approval_id = hold(client)
    r = client.post(
        f"/v1/approvals/{approval_id}/approve", content=body, headers={**BOB, "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"].get("field", "") == field
    too_long = client.post(f"/v1/approvals/{approval_id}/approve", json={"reason": "x" * 1001}, headers=BOB)
    assert too_long.status_code == 400
    json_type = {**BOB, "content-type": "application/json"}
    huge = client.post(f"/v1/approvals/{approval_id}/approve", content=b" " * 70_000, headers=json_type)
    assert huge.status_code == 413
    form = client.post(f"/v1/approvals/{approval_id}/approve", content=b"reason=x", headers=BOB)
    assert form.status_code == 415  # only JSON: a cross-site HTML form cannot approve
    assert client.get(f"/v1/approvals/{approval_id}", headers=BOB).json()["state"] == "pending"


@pytest.mark.parametrize("query", ["state=done", "limit=0", "limit=x", "limit=5000", "colour=red"])
def test_bad_queries(client: TestClient, query: str) -> None:
    r = client.get(f"/v1/approvals?{query}", headers=BOB)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument", r.text


def test_filters(client: TestClient) -> None:
    a = hold(client, principal="alice")
    b = hold(client, principal="dave")
    client.post(f"/v1/approvals/{b}/deny", json={}, headers=BOB)
    ids = lambda q: [x["id"] for x in client.get(f"/v1/approvals?{q}", headers=BOB).json()["approvals"]]  # noqa: E731
    assert ids("") == [b, a]
    assert ids("state=pending") == [a]
    assert ids("state=denied&principal=dave") == [b]
    assert ids("principal=dave&state=pending") == []
    assert ids("tool=transfer_funds&limit=1") == [b]
    assert ids("tool=shell") == []


def test_racing_approvers_one_wins(client: TestClient) -> None:
    approval_id = hold(client)
    results: list[tuple[str, int, dict]] = []
    barrier = threading.Barrier(6)

    def act(verb: str, who: str) -> None:
        barrier.wait(5)
        r = client.post(f"/v1/approvals/{approval_id}/{verb}", json={}, headers=as_(who))
        results.append((verb, r.status_code, r.json()))

    threads = [threading.Thread(target=act, args=("approve" if i % 2 else "deny", f"u{i}")) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    wins = [r for r in results if r[1] == 200]
    assert len(wins) == 1 and sorted(r[1] for r in results) == [200] + [409] * 5
    state = wins[0][2]["state"]
    assert all(f"is {state} by {wins[0][2]['decided_by']}" in r[2]["error"]["message"] for r in results if r[1] == 409)


def test_inbox_is_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/ui/approvals")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/ui/approvals/inbox.js", "/ui/approvals/inbox.css"):
        r = client.get(asset)
        assert r.status_code == 200 and "https://" not in r.text


def test_openapi_documents_the_api(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/v1/approvals", "/v1/approvals/{approval_id}", "/v1/approvals/{approval_id}/approve"):
        assert path in paths
    assert set(paths["/v1/approvals/{approval_id}/deny"]["post"]["responses"]) >= {"200", "401", "403", "404", "409"}
    assert "Approval" in doc["components"]["schemas"]


def test_without_a_store_the_api_says_so(tmp_path: Path) -> None:
    state = PolicyState("test")
    state.activate(celgate.load(write_repo(tmp_path / "p")))
    with TestClient(create_app(Decider(state), state)) as c:
        r = c.get("/v1/approvals")  # an embedded app: anonymous callers, no store
        assert r.status_code == 404 and "not configured" in r.json()["error"]["message"]

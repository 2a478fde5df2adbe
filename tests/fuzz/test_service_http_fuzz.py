"""Schemathesis on the HTTP door's OpenAPI document: no input gives a 5xx, answers match the schema.

In process (ASGI), on a small policy repository, with a bounded budget (DESIGN: fuzz in CI, bounded).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import celgate
from celgate.api.decide import Decider
from celgate.api.http_app import create_app
from celgate.api.state import PolicyState
from celgate.approvals import Approvals
from celgate.approvals.sqlite import SQLiteStore
from celgate.stores import Stores
from tests.e2e.conftest import write_policy_repo

_REPO = write_policy_repo(Path(__import__("tempfile").mkdtemp(prefix="celgate-fuzz-")) / "policies")
_STATE = PolicyState("fuzz")
_STATE.activate(celgate.load(_REPO))
_APPROVALS = Approvals(SQLiteStore(_REPO.parent / "approvals.db"))  # the approver routes are fuzzed too
app = create_app(Decider(_STATE, stores=Stores(approvals=_APPROVALS)), _STATE, max_body_bytes=1 << 20)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_http_door_never_fails(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert body["error"]["code"] and body["error"]["message"]
    case.validate_response(response)


@pytest.mark.parametrize(
    "body",
    [b"\x00", b"{" * 10_000, b'{"action": "prompt", "context": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"1e999", b'"x"'],
)
def test_pathological_bodies_are_4xx(body: bytes) -> None:
    from starlette.testclient import TestClient

    with TestClient(app) as client:
        r = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text

"""The bare ASGI route for `POST /v1/check` (`FastCheck`) in front of FastAPI: same answers, same errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import celgate
from celgate.api.decide import Decider
from celgate.api.http_app import FastCheck, create_app
from celgate.api.state import PolicyState
from tests.e2e.conftest import write_policy_repo

SHELL_USER = b'{"action":"tool_call","principal":{"id":"u1","roles":["user"]},"tool":{"name":"shell"}}'


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    repo = write_policy_repo(Path(tmp_path_factory.mktemp("route")) / "policies")
    state = PolicyState("unit")
    state.activate(celgate.load(repo))
    app = create_app(Decider(state), state, max_body_bytes=1000)
    assert isinstance(app, FastCheck)
    with TestClient(app, headers={"content-type": "application/json"}) as c:
        yield c


def chunks(body: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


def test_decides_with_content_length_and_in_chunks(client: TestClient) -> None:
    whole = client.post("/v1/check", content=SHELL_USER)
    chunked = client.post("/v1/check", content=chunks(SHELL_USER, 7))  # no Content-Length: several ASGI messages
    for r in (whole, chunked):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["effect"] == "deny" and r.json()["reasons"][0]["rule"] == "shell-needs-admin"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b""}, 400, "invalid_json"),
        ({"content": b"{"}, 400, "invalid_json"),
        ({"content": b"[1]"}, 400, "invalid_argument"),
        ({"content": b'{"action":"tool_call","nope":1}'}, 400, "invalid_argument"),
        ({"content": b"x" * 1001}, 413, "payload_too_large"),
        ({"content": chunks(b"x" * 1001, 100)}, 413, "payload_too_large"),
        ({"content": b"{}", "headers": {"content-length": "abc"}}, 400, "invalid_argument"),
    ],
)
def test_bad_bodies_are_4xx_with_the_error_shape(client: TestClient, kwargs: dict, status: int, code: str) -> None:
    r = client.post("/v1/check", **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_other_methods_and_routes_are_fastapi(client: TestClient) -> None:
    assert client.get("/v1/check").status_code == 405
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/v1/check" in client.get("/openapi.json").json()["paths"]
    assert "/v1/check" in client.app.openapi()["paths"]  # attribute look-ups reach the FastAPI app


def test_a_tool_call_without_a_tool_is_a_400_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/check", content=b'{"action":"tool_call","principal":{"id":"u1"}}')
    assert r.status_code == 400 and r.json()["error"]["field"] == "tool"

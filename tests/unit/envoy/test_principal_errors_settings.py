"""Principal extraction, client-format errors and settings parsing."""

from __future__ import annotations

import orjson
import pytest
from google.protobuf import struct_pb2

from celgate.api.envoy import errors, mapping
from celgate.api.envoy.principal import extract_principal
from celgate.api.envoy.settings import JWT_NAMESPACE, EnvoySettings


def _md(payload: dict[str, object], key: str = "jwt_payload") -> dict[str, struct_pb2.Struct]:
    s = struct_pb2.Struct()
    s.update({key: payload})
    return {JWT_NAMESPACE: s}


def test_jwt_claims_with_defaults() -> None:
    p = extract_principal(
        _md({"sub": "alice", "roles": ["user"], "groups": "ops,dev", "tenant": "acme"}), {}, "", EnvoySettings()
    )
    assert p["id"] == "alice" and p["roles"] == ["user", "ops", "dev"] and p["tenant"] == "acme"
    assert p["attributes"]["auth"] == "jwt"


def test_jwt_only_entry_and_nested_claims() -> None:
    settings = EnvoySettings.from_dict(
        {
            "jwt_payload_key": "",
            "claims": {"id": "email", "roles": "realm.roles", "tenant": "org", "attributes": ["dept"]},
        }
    )
    p = extract_principal(
        _md({"email": "a@x", "realm": {"roles": ["admin"]}, "org": 7, "dept": "r&d"}, "issuer-x"), {}, "", settings
    )
    assert p == {"id": "a@x", "roles": ["admin"], "tenant": "7", "attributes": {"dept": "r&d", "auth": "jwt"}}


def test_header_then_peer() -> None:
    settings = EnvoySettings(principal_header="x-user", roles_header="x-roles")
    assert extract_principal({}, {"x-user": "bob", "x-roles": "a b"}, "spiffe://x", settings) == {
        "id": "bob",
        "roles": ["a", "b"],
        "attributes": {"auth": "header"},
    }
    assert extract_principal({}, {}, "spiffe://cluster.local/ns/a/sa/b", settings)["id"].startswith("spiffe://")
    assert extract_principal({}, {}, "spiffe://x", EnvoySettings(use_peer_identity=False)) == {}


def test_settings_reject_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        EnvoySettings.from_dict({"max_body": 1})
    with pytest.raises(ValueError, match="default_route"):
        EnvoySettings.from_dict({"default_route": "maybe"})
    with pytest.raises(ValueError, match="pass_routes"):
        EnvoySettings.from_dict({"pass_routes": ["/v1/models"]})
    with pytest.raises(ValueError, match="mcp_denials"):
        EnvoySettings.from_dict({"mcp_denials": "drop"})


def test_routes_celgate_cannot_judge_are_closed_unless_listed() -> None:
    default = EnvoySettings()
    assert default.default_route == "deny" and not default.passes("GET", "/v1/models")
    assert default.passes_mcp("tools/list") and default.passes_mcp("notifications/initialized")
    assert not default.passes_mcp("resources/read") and not default.passes_mcp("tasks/result")
    assert not default.passes_mcp("")  # the client's answers to server requests
    s = EnvoySettings.from_dict({"pass_routes": "GET /v1/models*", "mcp_pass_methods": ["notifications/*"]})
    assert s.passes("GET", "/v1/models?limit=1") and s.passes("get", "/v1/models/gpt") is False
    assert not s.passes("POST", "/v1/models")
    assert s.passes_mcp("notifications/progress") and not s.passes_mcp("tools/list")


def test_mcp_denial_as_result_or_error() -> None:
    r = errors.mcp_denial(7, code="approval_required", message="wait", decision_id="d1", approval_id="apr_1")
    assert r["id"] == 7 and r["result"]["isError"] is True and r["result"]["resultType"] == "complete"
    assert "needs a human approval" in r["result"]["content"][0]["text"] and "d1" in r["result"]["content"][0]["text"]
    assert r["result"]["_meta"]["celgate"] == {"code": "approval_required", "decision_id": "d1", "approval_id": "apr_1"}
    e = errors.mcp_denial(7, code="policy_denied", message="no", decision_id="d2", as_result=False)
    assert e["error"]["code"] == errors.RPC_DENIED and e["error"]["data"]["decision_id"] == "d2"


def test_door_decision_ids_are_unique_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="celgate.envoy"):
        a, b = errors.door_decision_id("route_not_judged", "x"), errors.door_decision_id("invalid_request", "y")
    assert a != b and a.startswith("door-")
    assert a in caplog.text and b in caplog.text


def test_error_bodies_per_dialect() -> None:
    o = orjson.loads(errors.error_body(mapping.OPENAI, code="policy_denied", message="no", decision_id="d"))
    assert o["error"]["message"] == "no" and o["error"]["type"] == "permission_error"
    assert o["error"]["decision_id"] == "d"
    a = orjson.loads(errors.error_body(mapping.ANTHROPIC, code="invalid_request", message="bad"))
    assert a == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "bad", "code": "invalid_request"},
    }
    j = orjson.loads(
        errors.error_body(mapping.MCP, code="approval_required", message="wait", approval_id="apr_1", rpc_id="abc")
    )
    assert j["id"] == "abc" and j["error"]["code"] == errors.RPC_APPROVAL
    assert j["error"]["data"]["approval_id"] == "apr_1"

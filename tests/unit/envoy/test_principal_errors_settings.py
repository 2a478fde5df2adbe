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

"""The ext_authz -> ext_proc hand-off MAC and the principal cache."""

from __future__ import annotations

from google.protobuf import struct_pb2

from celgate.api.envoy import handoff
from celgate.api.envoy.principal import extract_principal
from celgate.api.envoy.settings import ClaimMapping, EnvoySettings

S = EnvoySettings()
ARGS = ("POST", "/v1/chat/completions", "req-1", "dec-1")


def test_handoff_verifies_only_the_same_request_and_body() -> None:
    token = handoff.mac(S, *ARGS, b'{"a": 1}')
    assert handoff.verify(S, token, *ARGS, b'{"a": 1}')
    assert not handoff.verify(S, token, *ARGS, b'{"a": 2}')
    assert not handoff.verify(S, token, "POST", "/v1/messages", "req-1", "dec-1", b'{"a": 1}')
    assert not handoff.verify(S, token, "POST", "/v1/chat/completions", "req-2", "dec-1", b'{"a": 1}')
    assert not handoff.verify(S, token, "POST", "/v1/chat/completions", "req-1", "dec-2", b'{"a": 1}')
    assert not handoff.verify(S, "", *ARGS, b'{"a": 1}')
    assert not handoff.verify(S, "0" * 32, *ARGS, b'{"a": 1}')


def test_handoff_key_is_shared_by_setting_and_separates_otherwise() -> None:
    a, b = EnvoySettings(handoff_key="secret"), EnvoySettings(handoff_key="secret")
    assert handoff.verify(b, handoff.mac(a, *ARGS, b"x"), *ARGS, b"x")
    assert not handoff.verify(S, handoff.mac(a, *ARGS, b"x"), *ARGS, b"x")
    assert not handoff.verify(EnvoySettings(handoff_key="other"), handoff.mac(a, *ARGS, b"x"), *ARGS, b"x")


def _metadata(claims: dict[str, object]) -> dict[str, struct_pb2.Struct]:
    ns = struct_pb2.Struct()
    ns.fields["jwt_payload"].struct_value.update(claims)
    return {"envoy.filters.http.jwt_authn": ns}


def test_principal_cache_keys_on_payload_and_claim_mapping() -> None:
    md = _metadata({"sub": "u1", "roles": ["user"], "tenant": "acme", "dept": "x"})
    first = extract_principal(md, {}, "", S)
    assert first == {"id": "u1", "roles": ["user"], "tenant": "acme", "attributes": {"auth": "jwt"}}
    assert extract_principal(md, {}, "", S) is first
    other = extract_principal(_metadata({"sub": "u2", "roles": ["admin"]}), {}, "", S)
    assert other["id"] == "u2" and other["roles"] == ["admin"]
    mapped = extract_principal(md, {}, "", EnvoySettings(claims=ClaimMapping(attributes=("dept",))))
    assert mapped["attributes"] == {"dept": "x", "auth": "jwt"}

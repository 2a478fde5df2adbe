"""Probes of a `celgate serve` with callers configured: who gets in, and who may decide for whom.

A real server (subprocess) with three API-key callers: `checkout` may decide tool calls for
`checkout-*` principals of tenant acme, `ops` may read status and metrics and ask for explain,
`alice` is an approver. Every probe an attacker would try first, on both doors.
"""

from __future__ import annotations

import grpc
import httpx
import pytest
import yaml
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from celgate.auth import keys
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

CHECKOUT, OPS, ALICE = keys.generate(), keys.generate(), keys.generate()
OK = {"action": "tool_call", "principal": {"id": "checkout-1", "tenant": "acme"}, "tool": {"name": "search"}}
JSON = {"content-type": "application/json"}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", **JSON}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    from tests.e2e.conftest import start, write_policy_repo

    root = tmp_path_factory.mktemp("auth-probes")
    repo = write_policy_repo(root / "policies")
    config = root / "celgate-service.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "auth": {
                    "callers": [
                        {
                            "id": "checkout",
                            "key_sha256": keys.hash_key(CHECKOUT),
                            "rights": {"principals": ["checkout-*"], "tenants": ["acme"], "actions": ["tool_call"]},
                        },
                        {
                            "id": "ops",
                            "key_sha256": keys.hash_key(OPS),
                            "rights": {"explain": True, "status": True, "metrics": True},
                        },
                        {"id": "alice", "key_sha256": keys.hash_key(ALICE), "roles": ["approver"]},
                    ]
                }
            }
        )
    )
    cg = start(policies=repo, extra_args=["--config", str(config)], workdir=root)
    yield cg
    cg.stop()


def post(server, body: object, headers: dict[str, str], path: str = "/v1/check") -> httpx.Response:
    return httpx.post(server.http_url + path, json=body, headers=headers, timeout=10)


def test_probes_stay_open(server) -> None:
    assert server.get("/healthz")[0] == 200 and server.get("/readyz")[0] == 200


@pytest.mark.parametrize(
    "headers",
    [JSON, {"authorization": f"Bearer {keys.generate()}", **JSON}, {"authorization": f"Basic {CHECKOUT}", **JSON}],
    ids=["no credential", "wrong key", "wrong scheme"],
)
def test_no_valid_credential_is_401_on_every_route(server, headers: dict[str, str]) -> None:
    for path in ("/v1/check", "/v1/check/batch"):
        r = post(server, OK, headers, path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["www-authenticate"].startswith("Bearer")
    for path in ("/v1/status", "/metrics", "/openapi.json", "/docs"):
        assert httpx.get(server.http_url + path, headers=headers).status_code == 401, path


def test_a_caller_decides_within_its_rights(server) -> None:
    r = post(server, OK, bearer(CHECKOUT))
    assert r.status_code == 200 and r.json()["effect"] == "allow"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**OK, "principal": {"id": "admin", "tenant": "acme"}}, "principal.id"),
        ({**OK, "principal": {"id": "checkout-1", "tenant": "globex"}}, "principal.tenant"),
        ({**OK, "action": "prompt", "messages": [{"role": "user", "content": "hi"}]}, "action"),
        ({**OK, "explain": True}, "explain"),
    ],
    ids=["principal spoofing", "other tenant", "other action", "explain without the right"],
)
def test_outside_its_rights_is_403_on_both_doors(server, body: dict, field: str) -> None:
    r = post(server, body, bearer(CHECKOUT))
    assert r.status_code == 403, r.text
    assert r.json()["error"] == {"code": "permission_denied", "field": field, "message": r.json()["error"]["message"]}
    assert "checkout" in r.json()["error"]["message"]
    batch = post(server, {"requests": [OK, body]}, bearer(CHECKOUT), "/v1/check/batch")
    assert batch.status_code == 403 and batch.json()["error"]["field"] == f"requests[1].{field}"
    with grpc.insecure_channel(server.grpc_addr) as ch:
        stub = pb_grpc.DecisionServiceStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            stub.Check(
                json_format.ParseDict(body, pb.CheckRequest()), metadata=[("authorization", f"Bearer {CHECKOUT}")]
            )
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED and "checkout" in e.value.details()


def test_status_and_metrics_need_their_right(server) -> None:
    for path in ("/v1/status", "/metrics"):
        r = httpx.get(server.http_url + path, headers=bearer(CHECKOUT))
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        assert httpx.get(server.http_url + path, headers=bearer(OPS)).status_code == 200
    explained = post(server, {**OK, "explain": True}, bearer(OPS)).json()
    assert explained["effect"] == "allow" and explained.get("explanation") is not None


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_browser_form_cannot_post_a_decision(server, ctype: str) -> None:
    import json

    r = httpx.post(
        server.http_url + "/v1/check",
        content=json.dumps(OK),
        headers={"authorization": f"Bearer {CHECKOUT}", "content-type": ctype},
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_grpc_needs_a_credential_but_health_does_not(server) -> None:
    request = json_format.ParseDict(OK, pb.CheckRequest())
    with grpc.insecure_channel(server.grpc_addr) as ch:
        stub = pb_grpc.DecisionServiceStub(ch)
        for metadata in (None, [("authorization", f"Bearer {keys.generate()}")]):
            with pytest.raises(grpc.RpcError) as e:
                stub.Check(request, metadata=metadata, timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stub.Check(request, metadata=[("authorization", f"Bearer {CHECKOUT}")], timeout=10).effect == "allow"
        health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        ask = reflection_pb2.ServerReflectionRequest(list_services="")
        with pytest.raises(grpc.RpcError) as e:
            list(refl.ServerReflectionInfo(iter([ask]), timeout=10))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(refl.ServerReflectionInfo(iter([ask]), metadata=[("authorization", f"Bearer {OPS}")]))
        assert any(s.name == "celgate.v1.DecisionService" for s in answers[0].list_services_response.service)


def test_beyond_loopback_without_authentication_is_refused(tmp_path) -> None:
    import subprocess
    import sys

    from tests.e2e.conftest import free_port

    out = subprocess.run(
        [sys.executable, "-m", "celgate.cli", "serve", "--http-addr", f"0.0.0.0:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert "refusing to listen beyond loopback (http-addr 0.0.0.0)" in out.stderr
    assert "--insecure-allow-anonymous" in out.stderr


def test_a_jwt_caller_decides_only_as_itself(tmp_path) -> None:
    """The principal is taken from the verified token: roles or ids in the body change nothing.

    Before callers authenticated, `roles: ["admin"]` in the body let anyone run `shell`."""
    import json
    import time

    from joserfc import jwt
    from joserfc.jwk import ECKey

    from tests.e2e.conftest import start, write_policy_repo

    signer = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [signer.as_dict(private=False)]}))
    config = tmp_path / "service.yaml"
    conf = {"jwks": str(jwks), "issuer": "https://id.test", "audience": "celgate"}
    config.write_text(yaml.safe_dump({"auth": {"jwt": conf}}))
    cg = start(policies=write_policy_repo(tmp_path / "policies"), extra_args=["--config", str(config)])
    try:
        now = int(time.time())
        claims = {"iss": "https://id.test", "aud": "celgate", "sub": "u1", "roles": ["user"], "exp": now + 300}
        token = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, signer)
        spoof = {"action": "tool_call", "principal": {"id": "root", "roles": ["admin"]}, "tool": {"name": "shell"}}
        r = post(cg, spoof, {"authorization": f"Bearer {token}", **JSON})
        assert r.status_code == 200 and r.json()["effect"] == "deny", r.text  # decided as u1, a user
        with grpc.insecure_channel(cg.grpc_addr) as ch:
            out = pb_grpc.DecisionServiceStub(ch).Check(
                json_format.ParseDict(spoof, pb.CheckRequest()), metadata=[("authorization", f"Bearer {token}")]
            )
        assert out.effect == "deny"
        expired = jwt.encode({"alg": "ES256", "kid": "k1"}, {**claims, "exp": now - 3600}, signer)
        other = jwt.encode({"alg": "ES256", "kid": "k1"}, {**claims, "iss": "https://evil.test"}, signer)
        for bad in (expired, other):
            assert post(cg, spoof, {"authorization": f"Bearer {bad}", **JSON}).status_code == 401
    finally:
        cg.stop()

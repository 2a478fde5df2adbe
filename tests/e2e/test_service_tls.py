"""TLS and mutual TLS on both doors of a real `celgate serve`, with certificates made in the test.

The client CA admits client certificates; a configured caller is matched by its certificate's SAN.
Rotating the server certificate (files replaced in place) takes effect for new connections without
a restart, on both ports.
"""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path

import grpc
import httpx
import pytest
import yaml
from google.protobuf import json_format

from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc
from tests.pki import CA, Issued

pytestmark = pytest.mark.e2e

ENVOY_ID = "spiffe://cluster.local/ns/gateway/sa/envoy"
REQUEST = {"action": "tool_call", "principal": {"id": "u1", "tenant": "acme"}, "tool": {"name": "search"}}


def client_context(ca: Path, client: Issued | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    return ctx


def grpc_check(addr: str, ca: Path, client: Issued | None) -> pb.CheckResponse:
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None,
    )
    with grpc.secure_channel(addr, creds) as ch:
        return pb_grpc.DecisionServiceStub(ch).Check(json_format.ParseDict(REQUEST, pb.CheckRequest()), timeout=10)


@pytest.fixture
def pki(tmp_path: Path) -> dict:
    ca = CA(tmp_path / "pki")
    return {
        "ca": ca,
        "server": ca.server(),
        "envoy": ca.issue("envoy", "envoy", uris=[ENVOY_ID]),
        "other": ca.issue("other", "some-service"),
        "stranger": CA(tmp_path / "stranger", "stranger CA").issue("intruder", "envoy", uris=[ENVOY_ID]),
    }


def test_mutual_tls_on_both_doors_and_certificates_reload(start_celgate, policy_repo, tmp_path, pki) -> None:
    ca, server = pki["ca"], pki["server"]
    config = tmp_path / "service.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "tls-reload-seconds": 0.2,
                "auth": {"callers": [{"id": "envoy", "mtls": [ENVOY_ID], "rights": {"status": True}}]},
            }
        )
    )
    args = ["--config", str(config), "--tls-cert", str(server.cert), "--tls-key", str(server.key)]
    args += ["--tls-client-ca", str(ca.pem)]
    cg = start_celgate(policies=policy_repo, extra_args=args, tls=client_context(ca.pem, pki["envoy"]))

    # HTTPS with the configured caller's certificate: decisions and its status right.
    with httpx.Client(verify=client_context(ca.pem, pki["envoy"])) as c:
        assert c.post(cg.http_url + "/v1/check", json=REQUEST).json()["effect"] == "allow"
        assert c.get(cg.http_url + "/v1/status").status_code == 200
    # Another certificate of the same CA: a caller named after it, with default rights.
    with httpx.Client(verify=client_context(ca.pem, pki["other"])) as c:
        assert c.post(cg.http_url + "/v1/check", json=REQUEST).status_code == 200
        assert c.get(cg.http_url + "/v1/status").status_code == 403
    # No client certificate, or one from another CA: no connection at all.
    for client in (None, pki["stranger"]):
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=client_context(ca.pem, client)) as c:
            c.post(cg.http_url + "/v1/check", json=REQUEST)
    with pytest.raises(httpx.HTTPError), httpx.Client() as c:  # plain HTTP to the TLS port
        c.post(cg.http_url.replace("https:", "http:") + "/v1/check", json=REQUEST)

    assert grpc_check(cg.grpc_addr, ca.pem, pki["envoy"]).effect == "allow"
    from celgate_client import Client

    envoy = {"tls_ca": str(ca.pem), "tls_cert": str(pki["envoy"].cert), "tls_key": str(pki["envoy"].key)}
    for url in (cg.http_url, "grpcs://" + cg.grpc_addr):
        with Client(url, principal="u1", **envoy) as sdk:
            assert sdk.check_tool_call("search").allowed
    for client in (None, pki["stranger"]):
        with pytest.raises(grpc.RpcError) as e:
            grpc_check(cg.grpc_addr, ca.pem, client)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE

    # Rotate the server certificate to one from a new CA: new connections get it, no restart.
    rotated = CA(tmp_path / "rotated", "rotated CA")
    fresh = rotated.server("fresh")
    for src, dst in ((fresh.key, server.key), (fresh.cert, server.cert)):
        tmp = dst.with_suffix(".tmp")
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, dst)
    deadline = time.monotonic() + 20
    while True:
        try:
            with httpx.Client(verify=client_context(rotated.pem, pki["envoy"])) as c:
                assert c.post(cg.http_url + "/v1/check", json=REQUEST).status_code == 200
            assert grpc_check(cg.grpc_addr, rotated.pem, pki["envoy"]).effect == "allow"
            break
        except (httpx.HTTPError, grpc.RpcError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=client_context(ca.pem, pki["envoy"])) as c:
        c.post(cg.http_url + "/v1/check", json=REQUEST)  # the old CA no longer verifies the server


def test_tls_without_client_certificates_keeps_bearer_keys(start_celgate, policy_repo, tmp_path, pki) -> None:
    from celgate.auth import keys

    key = keys.generate()
    config = tmp_path / "service.yaml"
    config.write_text(yaml.safe_dump({"auth": {"callers": [{"id": "app", "key_sha256": keys.hash_key(key)}]}}))
    server = pki["server"]
    args = ["--config", str(config), "--tls-cert", str(server.cert), "--tls-key", str(server.key)]
    cg = start_celgate(policies=policy_repo, extra_args=args, tls=client_context(pki["ca"].pem, None))
    with httpx.Client(verify=client_context(pki["ca"].pem, None)) as c:
        assert c.post(cg.http_url + "/v1/check", json=REQUEST).status_code == 401
        ok = c.post(cg.http_url + "/v1/check", json=REQUEST, headers={"authorization": f"Bearer {key}"})
        assert ok.status_code == 200
    creds = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=pki["ca"].pem.read_bytes()),
        grpc.access_token_call_credentials(key),
    )
    with grpc.secure_channel(cg.grpc_addr, creds) as ch:
        out = pb_grpc.DecisionServiceStub(ch).Check(json_format.ParseDict(REQUEST, pb.CheckRequest()), timeout=10)
    assert out.effect == "allow"

    # The SDK: the key as a bearer, the test CA for the server's certificate, on both doors.
    from celgate_client import CelgateError, Client

    ca = str(pki["ca"].pem)
    for url in (cg.http_url, "grpcs://" + cg.grpc_addr):
        with Client(url, api_key=key, tls_ca=ca, principal="u1") as sdk:
            assert sdk.check_tool_call("search").allowed
        with Client(url, tls_ca=ca, principal="u1") as anonymous, pytest.raises(CelgateError) as e:
            anonymous.check_tool_call("search")
        assert e.value.code in ("unauthenticated", "UNAUTHENTICATED")


def test_unreadable_certificates_stop_start_up(start_celgate, policy_repo, tmp_path) -> None:
    missing = str(tmp_path / "nope.pem")
    cg = start_celgate(policies=policy_repo, extra_args=["--tls-cert", missing, "--tls-key", missing], wait=False)
    assert cg.proc.wait(60) == 2
    assert "nope.pem" in cg.stderr()

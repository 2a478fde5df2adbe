"""The decision service end to end: a real `celgate serve` subprocess, both doors, bad input, logs, metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

SHELL_USER = {"action": "tool_call", "principal": {"id": "u1", "roles": ["user"]}, "tool": {"name": "shell"}}
SEARCH = {"action": "tool_call", "principal": {"id": "u2", "tenant": "acme"}, "tool": {"name": "search"}}
SECRET_TEXT = "contact bob@example.com, key AKIAIOSFODNN7EXAMPLE"
REPLY = {"action": "response", "principal": {"id": "u3"}, "response": {"content": SECRET_TEXT}}


def grpc_check(addr: str, request: dict) -> pb.CheckResponse:
    with grpc.insecure_channel(addr) as ch:
        return pb_grpc.DecisionServiceStub(ch).Check(json_format.ParseDict(request, pb.CheckRequest()), timeout=10)


@pytest.fixture
def server(start_celgate, policy_repo):
    return start_celgate(policies=policy_repo)


def test_both_doors_give_the_same_decision(server) -> None:
    for request in (SHELL_USER, SEARCH, REPLY):
        http = httpx.post(server.http_url + "/v1/check", json=request, timeout=10)
        assert http.status_code == 200, http.text
        via_http = json_format.ParseDict(http.json(), pb.CheckResponse())
        via_grpc = grpc_check(server.grpc_addr, request)
        assert via_http.decision_id != via_grpc.decision_id
        via_http.ClearField("decision_id")
        via_grpc.ClearField("decision_id")
        assert via_http == via_grpc
    assert httpx.post(server.http_url + "/v1/check", json=SHELL_USER).json()["effect"] == "deny"
    reply = httpx.post(server.http_url + "/v1/check", json=REPLY).json()
    assert "bob@example.com" not in reply["rewritten"]["response.content"]


def test_camel_case_is_accepted(server) -> None:
    request = {"action": "response", "principal": {"id": "u"}, "response": {"content": "x", "toolCalls": []}}
    assert httpx.post(server.http_url + "/v1/check", json=request).status_code == 200


def test_batch_over_both_doors(server) -> None:
    body = {"requests": [SHELL_USER, SEARCH]}
    http = httpx.post(server.http_url + "/v1/check/batch", json=body, timeout=10).json()
    assert [r["effect"] for r in http["responses"]] == ["deny", "allow"]
    with grpc.insecure_channel(server.grpc_addr) as ch:
        batch = json_format.ParseDict(body, pb.CheckBatchRequest())
        out = pb_grpc.DecisionServiceStub(ch).CheckBatch(batch, timeout=10)
    assert [r.effect for r in out.responses] == ["deny", "allow"]
    assert len({r.policy_revision for r in out.responses}) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b"", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"action": "tool_call", "principal": {"roles": "admin"}}', 400, "principal.roles"),
        (b'{"action": "launch_missiles"}', 400, "action"),
        (b'{"action": "prompt", "nope": 1}', 400, "nope"),
        (b'{"action": 7}', 400, "action"),
        (b"\xff\xfe", 400, None),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(server, body: bytes, status: int, field: str | None) -> None:
    r = httpx.post(server.http_url + "/v1/check", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] and error["message"]
    if field:
        assert error["field"] == field
    assert httpx.get(server.http_url + "/healthz").status_code == 200


def test_batch_bad_item_names_its_index(server) -> None:
    r = httpx.post(server.http_url + "/v1/check/batch", json={"requests": [SEARCH, {"action": "nope"}]})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "requests[1].action"


def test_huge_body_is_413_and_server_stays_up(start_celgate, policy_repo) -> None:
    cg = start_celgate(policies=policy_repo, extra_args=["--max-body-bytes", "4096"])
    big = {**REPLY, "response": {"content": "x" * 10_000}}
    r = httpx.post(cg.http_url + "/v1/check", json=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"

    def chunks():
        for _ in range(10):
            yield b" " * 1000

    r = httpx.post(  # chunked: no Content-Length
        cg.http_url + "/v1/check", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    with grpc.insecure_channel(cg.grpc_addr) as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.DecisionServiceStub(ch).Check(json_format.ParseDict(big, pb.CheckRequest()), timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert httpx.post(cg.http_url + "/v1/check", json=SEARCH).status_code == 200


def test_grpc_bad_input_is_invalid_argument_naming_the_field(server) -> None:
    with grpc.insecure_channel(server.grpc_addr) as ch:
        stub = pb_grpc.DecisionServiceStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            stub.Check(pb.CheckRequest(action="launch_missiles"), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "action" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            stub.CheckBatch(pb.CheckBatchRequest(requests=[pb.CheckRequest(action="prompt"), pb.CheckRequest()]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "requests[1]" in err.value.details()
        assert stub.Check(json_format.ParseDict(SEARCH, pb.CheckRequest()), timeout=10).effect == "allow"


def test_health_and_reflection(server) -> None:
    with grpc.insecure_channel(server.grpc_addr) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for service in ("", "celgate.v1.DecisionService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        replies = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in replies[0].list_services_response.service}
        assert "celgate.v1.DecisionService" in names


def test_http_status_readyz_openapi_and_unknown_routes(server) -> None:
    status = httpx.get(server.http_url + "/v1/status").json()
    assert status["ready"] is True and status["revision"].startswith("sha256:")
    assert status["loaded_at"] and status["last_error"] is None
    assert httpx.get(server.http_url + "/readyz").status_code == 200
    doc = httpx.get(server.http_url + "/openapi.json").json()
    assert "/v1/check" in doc["paths"] and "CheckRequest" in doc["components"]["schemas"]
    assert httpx.get(server.http_url + "/docs").status_code == 200
    missing = httpx.get(server.http_url + "/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.get(server.http_url + "/v1/check").status_code == 405


def test_metrics_exposed(server) -> None:
    httpx.post(server.http_url + "/v1/check", json=SHELL_USER)
    grpc_check(server.grpc_addr, SEARCH)
    text = httpx.get(server.http_url + "/metrics").text
    assert 'celgate_decisions_total{action="tool_call",effect="deny"}' in text
    assert 'celgate_rule_matches_total{policy="tools",rule="shell-needs-admin"}' in text
    assert "celgate_decision_duration_seconds_bucket" in text
    assert "celgate_bundle_info{revision=" in text
    assert "celgate_bundle_load_errors_total" in text
    assert "celgate_decision_log_dropped_total" in text


def _log_lines(cg, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(x) for x in cg.stdout().splitlines() if x.startswith("{")]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_decision_log_has_no_raw_content(server) -> None:
    r = httpx.post(server.http_url + "/v1/check", json=REPLY).json()
    grpc_check(server.grpc_addr, SHELL_USER)
    lines = _log_lines(server, 2)
    raw = server.stdout()
    for secret in ("bob@example.com", "AKIAIOSFODNN7EXAMPLE", SECRET_TEXT):
        assert secret not in raw
    by_id = {line["decision_id"]: line for line in lines}
    entry = by_id[r["decision_id"]]
    assert entry["door"] == "http" and entry["action"] == "response" and entry["effect"] == "allow"
    assert entry["principal"]["id"].startswith("h:") and entry["principal"]["tenant"] == ""  # keyed hashes
    assert entry["content"]["length"] == len(SECRET_TEXT) and len(entry["content"]["hmac_sha256"]) == 64
    assert entry["policy_revision"] == r["policy_revision"] and entry["latency_s"] >= 0
    assert entry["matched_rules"] == ["replies/mask-email", "defaults/response"]  # no rule decided the effect
    grpc_entry = next(x for x in lines if x["door"] == "grpc")
    assert grpc_entry["matched_rules"] == ["tools/shell-needs-admin"] and grpc_entry["effect"] == "deny"


def test_decision_log_to_file_with_redacted_content(start_celgate, policy_repo, tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    args = ["--decision-log", str(log), "--decision-log-content", "redacted"]
    cg = start_celgate(policies=policy_repo, extra_args=args)
    httpx.post(cg.http_url + "/v1/check", json=REPLY)
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = json.loads(log.read_text().splitlines()[0])
    assert "bob@example.com" not in log.read_text()
    assert "[email]" in entry["rewritten"]["response.content"] or "[" in entry["rewritten"]["response.content"]
    assert not cg.stdout().strip()


def test_dry_run_answers_allow_and_logs_the_real_effect(start_celgate, policy_repo) -> None:
    cg = start_celgate(policies=policy_repo, extra_args=["--dry-run"])
    r = httpx.post(cg.http_url + "/v1/check", json=SHELL_USER).json()
    assert r["effect"] == "allow" and "would have been deny" in r["message"]
    assert r["reasons"][0]["rule"] == "shell-needs-admin"
    assert grpc_check(cg.grpc_addr, SHELL_USER).effect == "allow"
    reply = httpx.post(cg.http_url + "/v1/check", json=REPLY).json()
    assert "rewritten" not in reply
    entry = next(x for x in _log_lines(cg, 1) if x["decision_id"] == r["decision_id"])
    assert entry["dry_run"] is True and entry["effect"] == "deny"


def test_shipped_library_is_the_default(start_celgate) -> None:
    cg = start_celgate()
    status = httpx.get(cg.http_url + "/v1/status").json()
    assert status["ready"] and status["source"].endswith("policies")
    r = httpx.post(cg.http_url + "/v1/check", json={"action": "prompt", "principal": {"id": "u"}, "messages": []})
    assert r.status_code == 200 and r.json()["effect"] in ("allow", "deny", "require_approval")

"""Traces reach a real OTLP/HTTP receiver, as children of the caller's trace, without content.

The receiver is a small HTTP server in the test process that decodes what the official exporter
sends (`ExportTraceServiceRequest`, protobuf, from the opentelemetry-proto package): no mock
exporter stands in for the real one. `celgate serve` runs as a subprocess with the standard
`OTEL_*` variables, and a clean virtualenv proves a plain `pip install` gives a working exporter.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc
from tests.e2e.conftest import REPO, start

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
SECRET = "4111 1111 1111 1111"


class Receiver(http.server.ThreadingHTTPServer):
    """Collects the spans of every OTLP/HTTP export it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[object] = []
        self.bodies: list[bytes] = []
        self.paths: list[str] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.paths.append(self.path)
        self.server.bodies.append(body)
        export = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.server.spans.extend((resource_spans.resource, s) for s in scope_spans.spans)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def attributes(span: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for kv in span.attributes:  # type: ignore[attr-defined]
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [v.string_value for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, kind)
    return out


def wait_for(receiver: Receiver, count: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.spans) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.spans) >= count, f"got {len(receiver.spans)} spans, wanted {count}"


def test_each_decision_is_a_span_in_the_callers_trace(receiver: Receiver, tmp_path: Path) -> None:
    log_path = tmp_path / "decisions.jsonl"
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "gate-under-test",
    }
    cg = start(extra_args=["--decision-log", str(log_path)], env=env)
    try:
        traceparent = f"00-{TRACE_ID}-{PARENT}-01"
        body = {
            "action": "response",
            "principal": {"id": "u1"},
            "response": {"role": "assistant", "content": f"your card is {SECRET}"},
        }
        r = httpx.post(cg.http_url + "/v1/check", json=body, headers={"traceparent": traceparent}, timeout=10)
        assert r.status_code == 200
        http_decision = r.json()["decision_id"]
        with grpc.insecure_channel(cg.grpc_addr) as channel:
            stub = pb_grpc.DecisionServiceStub(channel)
            reply = stub.Check(
                pb.CheckRequest(action="tool_call", tool=pb.ToolCall(name="shell")),
                metadata=[("traceparent", traceparent)],
                timeout=10,
            )
        # No trace context: a root span of its own trace.
        httpx.post(cg.http_url + "/v1/check", json={"action": "prompt"}, timeout=10)
        wait_for(receiver, 3)
    finally:
        assert cg.stop() == 0
    assert set(receiver.paths) == {"/v1/traces"}
    by_door: dict[str, list[object]] = {}
    for resource, span in receiver.spans:  # type: ignore[misc]
        assert span.name == "celgate.decide"
        service = {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"]
        assert service == "gate-under-test"
        by_door.setdefault(attributes(span)["celgate.door"], []).append(span)  # type: ignore[arg-type]
    http_span = next(s for s in by_door["http"] if attributes(s)["celgate.action"] == "response")
    assert http_span.trace_id.hex() == TRACE_ID and http_span.parent_span_id.hex() == PARENT
    attrs = attributes(http_span)
    assert attrs["celgate.decision_id"] == http_decision
    assert attrs["celgate.effect"] == "allow" and attrs["celgate.policy_revision"]
    assert attrs["celgate.dry_run"] is False
    assert any("redact" in rule or "llm02" in rule for rule in attrs["celgate.rules"])  # type: ignore[union-attr]
    assert http_span.end_time_unix_nano > http_span.start_time_unix_nano
    grpc_span = by_door["grpc"][0]
    assert grpc_span.trace_id.hex() == TRACE_ID
    assert attributes(grpc_span)["celgate.decision_id"] == reply.decision_id
    assert attributes(grpc_span)["celgate.effect"] == "deny"
    root = next(s for s in by_door["http"] if attributes(s)["celgate.action"] == "prompt")
    assert root.trace_id.hex() != TRACE_ID and not root.parent_span_id
    # Nothing of the content travels in a span.
    assert all(SECRET.encode() not in b and b"4111" not in b for b in receiver.bodies)
    # The decision log joins the trace: every line of a traced decision carries its trace id.
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    logged = {line["decision_id"]: line.get("trace_id") for line in lines}
    assert logged[http_decision] == TRACE_ID and logged[reply.decision_id] == TRACE_ID
    assert logged[attributes(root)["celgate.decision_id"]] == root.trace_id.hex()


def test_without_an_endpoint_nothing_is_exported_but_the_log_keeps_the_trace_id(tmp_path: Path) -> None:
    log_path = tmp_path / "decisions.jsonl"
    cg = start(extra_args=["--decision-log", str(log_path)])
    try:
        headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
        r = httpx.post(cg.http_url + "/v1/check", json={"action": "prompt"}, headers=headers, timeout=10)
        bad = httpx.post(
            cg.http_url + "/v1/check",
            json={"action": "prompt"},
            headers={"traceparent": "00-00000000000000000000000000000000-0000000000000000-01"},
            timeout=10,
        )
    finally:
        assert cg.stop() == 0
    lines = {json.loads(line)["decision_id"]: json.loads(line) for line in log_path.read_text().splitlines()}
    assert lines[r.json()["decision_id"]]["trace_id"] == TRACE_ID
    assert "trace_id" not in lines[bad.json()["decision_id"]]  # an invalid traceparent is ignored


def test_a_clean_install_gives_a_working_exporter(tmp_path: Path) -> None:
    """`pip install` of the project into a fresh virtualenv, as a user or the Dockerfile does it:
    the exporter imports and celgate's tracer starts (xds-protos once broke exactly this)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = (
        "from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope\n"
        "from celgate.telemetry import start_tracing\n"
        "import celgate.api.envoy\n"
        "t = start_tracing({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://127.0.0.1:9'})\n"
        "assert t is not None\n"
        "t.shutdown()\n"
        "print('ok')\n"
    )
    ran = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.stdout.strip() == "ok", ran.stderr[-3000:]

"""Decision-log sinks for log pipelines: NDJSON over HTTP, and OTLP logs, against real receivers.

The receivers are small HTTP servers in the test process (the OTLP one decodes the official
`ExportLogsServiceRequest` protobuf); `celgate serve` runs as a subprocess.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from tests.e2e.conftest import free_port, start

pytestmark = pytest.mark.e2e

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST; answers each with the next status of `statuses` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = list(statuses or [])
        self.posts: list[tuple[str, dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.posts.append((self.path, dict(self.headers.items()), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(getattr(request, "param", None))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def until(condition, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


@pytest.mark.parametrize("receiver", [[503]], indirect=True)
def test_http_sink_posts_ndjson_with_a_token_and_retries(receiver: Receiver) -> None:
    cg = start(
        extra_args=["--decision-log", receiver.url + "/ingest"],
        env={"CELGATE_DECISION_LOG_TOKEN": "pipeline-token"},
    )
    try:
        ids = []
        for n in range(3):
            r = httpx.post(
                cg.http_url + "/v1/check",
                json={"action": "prompt", "messages": [{"role": "user", "content": f"hello {n}"}]},
                headers={"traceparent": TRACEPARENT},
                timeout=10,
            )
            ids.append(r.json()["decision_id"])
        until(lambda: len([p for p in receiver.posts if p[0] == "/ingest"]) >= 2)
    finally:
        assert cg.stop() == 0
    _, headers, _ = receiver.posts[0]
    assert headers["Content-Type"] == "application/x-ndjson"
    assert headers["Authorization"] == "Bearer pipeline-token"
    lines = [json.loads(line) for _, _, body in receiver.posts[1:] for line in body.splitlines()]
    assert sorted(e["decision_id"] for e in lines) == sorted(ids)  # the 503'd batch was sent again
    assert all(e["trace_id"] == TRACE_ID for e in lines)
    assert all("hello" not in json.dumps(e) for e in lines)


def test_http_sink_down_drops_and_counts_without_slowing_decisions() -> None:
    dead = f"http://127.0.0.1:{free_port()}/ingest"
    cg = start(extra_args=["--decision-log", dead])
    try:
        started = time.monotonic()
        for _ in range(20):
            assert httpx.post(cg.http_url + "/v1/check", json={"action": "prompt"}, timeout=10).status_code == 200
        elapsed = time.monotonic() - started

        def dropped() -> float:
            text = httpx.get(cg.http_url + "/metrics", timeout=10).text
            return sum(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("celgate_decision_log_dropped_total")
            )

        until(lambda: dropped() >= 20)
    finally:
        assert cg.stop() == 0
    assert elapsed < 15  # a bound on a broken test, not a timing claim: retries never sit on the road
    failures = [line for line in cg.stderr().splitlines() if "decision log write failed" in line]
    assert failures and all("/ingest" not in line for line in failures)  # the URL's path may hold a key


def test_otlp_logs_sink_sends_log_records_joined_to_the_trace(receiver: Receiver) -> None:
    cg = start(extra_args=["--decision-log", "otlp"], env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    try:
        r = httpx.post(
            cg.http_url + "/v1/check",
            json={"action": "tool_call", "tool": {"name": "shell"}},
            headers={"traceparent": TRACEPARENT},
            timeout=10,
        )
        until(lambda: any(p[0] == "/v1/logs" for p in receiver.posts))
    finally:
        assert cg.stop() == 0
    records = []
    for path, _, body in receiver.posts:
        if path != "/v1/logs":  # the same endpoint variable also turns traces on (/v1/traces)
            continue
        export = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
        for resource_logs in export.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                records.extend(scope_logs.log_records)
    record = records[0]
    assert record.trace_id.hex() == TRACE_ID
    attributes = {kv.key: kv.value.string_value for kv in record.attributes}
    assert attributes["celgate.decision_id"] == r.json()["decision_id"]
    assert attributes["celgate.effect"] == "deny" and attributes["celgate.action"] == "tool_call"
    body = {kv.key: kv.value for kv in record.body.kvlist_value.values}
    assert body["decision_id"].string_value == r.json()["decision_id"]


def test_otlp_logs_without_an_endpoint_refuses_to_start() -> None:
    cg = start(extra_args=["--decision-log", "otlp"], wait=False)
    assert cg.proc.wait(60) != 0
    assert "decision-log otlp: set OTEL_EXPORTER_OTLP_ENDPOINT" in cg.stderr()

"""The SDK carries the application's current OpenTelemetry trace to celgate.

A real `celgate serve` writes the trace id it received into its decision log; the application side
uses the real OpenTelemetry SDK (a TracerProvider with no exporter: only its context matters).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from celgate_client import AsyncClient, Client

from .conftest import start_celgate

USER = {"id": "u1", "roles": ["user"]}


def test_checks_join_the_callers_trace_over_http_and_grpc(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    server = start_celgate(log_dir=tmp_path, extra_args=("--decision-log", str(log)))
    tracer = TracerProvider().get_tracer("agent")
    try:
        ids: dict[str, str] = {}
        for transport in ("http", "grpc"):
            with Client(server.url(transport), principal=USER) as client:
                with tracer.start_as_current_span("agent-step") as span:
                    decision = client.check_tool_call("search", {"q": "weather"})
                ids[decision.decision_id] = format(span.get_span_context().trace_id, "032x")
                outside = client.check_tool_call("search", {"q": "no trace"})
                ids[outside.decision_id] = ""

        async def main() -> None:
            async with AsyncClient(server.url("grpc"), principal=USER) as client:
                with tracer.start_as_current_span("async-step") as span:
                    decision = await client.check_tool_call("search", {"q": "async"})
                ids[decision.decision_id] = format(span.get_span_context().trace_id, "032x")

        asyncio.run(main())
    finally:
        server.stop()
    logged = {e["decision_id"]: e.get("trace_id", "") for e in map(json.loads, log.read_text().splitlines())}
    for decision_id, trace_id in ids.items():
        assert logged[decision_id] == trace_id

"""OpenTelemetry traces: one span per decision, a child of the caller's trace.

Off unless an OTLP endpoint is configured with the standard variables
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`; `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` turn it off again). When off, nothing of OpenTelemetry is imported
and the Decider pays one `is None` test per decision. When on, each worker process exports with
the official OTLP/HTTP exporter through a batch processor (a background thread: export never
blocks a decision); every other `OTEL_*` setting (headers, timeout, certificate, sampler,
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) is read by the SDK itself.

A span carries what joins a decision to the rest of a system and nothing of the content: door,
action, effect, matched rules, policy revision, decision id, dry-run; its duration is the
decision's latency. Prompts, replies, arguments and detector findings never go into a span.

The caller's trace arrives as a W3C `traceparent` header (HTTP), metadata entry (gRPC) or request
header seen by Envoy; doors hand the Decider that carrier untouched. Even with tracing off, the
trace id of a valid `traceparent` is written to the decision log, so log lines join the caller's
traces and logs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def trace_id_of(carrier: Mapping[str, str] | None) -> str:
    """The trace id of a valid W3C `traceparent` in `carrier`, or ""; an all-zero id is invalid."""
    if not carrier:
        return ""
    value = carrier.get(TRACEPARENT)
    if not value:
        return ""
    m = _TRACEPARENT.match(value.strip().lower())
    if m is None or m.group(1) == "0" * 32:
        return ""
    return m.group(1)


def tracing_configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() in ("none", ""):
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


class DecisionTracer:
    """Wraps each decision in a span; built once per worker process by `start_tracing`."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._provider = provider
        self._tracer = provider.get_tracer("celgate")
        self._propagator = TraceContextTextMapPropagator()
        self._kind = trace.SpanKind.SERVER
        self._error = trace.StatusCode.ERROR

    def traced(self, door: str, carrier: Mapping[str, str] | None, decide: Callable[[Any], T]) -> T:
        """Runs `decide(span)` inside a span named `celgate.decide`; the span ends with it."""
        parent = self._propagator.extract(carrier) if carrier else None
        with self._tracer.start_as_current_span(
            "celgate.decide", context=parent, kind=self._kind, record_exception=False
        ) as span:
            span.set_attribute("celgate.door", door)
            try:
                return decide(span)
            except Exception as e:  # an invalid request or no revision: the span says which, never the content
                span.set_status(self._error, type(e).__name__)
                raise

    @staticmethod
    def trace_id(span: Any) -> str:
        return format(span.get_span_context().trace_id, "032x")

    @staticmethod
    def annotate(span: Any, decision: Any, action: str, dry_run: bool) -> None:
        span.set_attributes(
            {
                "celgate.action": action,
                "celgate.effect": decision.effect,
                "celgate.decision_id": decision.decision_id,
                "celgate.policy_revision": decision.policy_revision,
                "celgate.rules": decision.matched_rules(),
                "celgate.dry_run": dry_run,
            }
        )

    def shutdown(self) -> None:
        """Exports what is queued (the SDK bounds it by its export timeout) and stops the exporter."""
        self._provider.shutdown()


def start_tracing(environ: Mapping[str, str] | None = None) -> DecisionTracer | None:
    """A tracer exporting over OTLP/HTTP when configured, else None. Call once per worker process
    (after fork: the batch processor's thread does not survive one)."""
    if not tracing_configured(environ):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    env = os.environ if environ is None else environ
    resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or "celgate"})
    provider = TracerProvider(resource=resource)
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").rstrip("/") + "/v1/traces"
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return DecisionTracer(provider)

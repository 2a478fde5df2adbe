"""Decision-log sinks that ship lines to a log pipeline: an HTTP endpoint, or OTLP logs.

Both are driven by the decision log's writer thread (`audit.DecisionLog`), which already batches
up to 512 lines per write and never blocks a decision. A sink's `write` gets one batch of JSON
lines; when it cannot deliver after its bounded retries it raises `OSError`, and the decision log
counts every line of the batch in `celgate_decision_log_dropped_total`. Nothing is buffered here
beyond the batch in hand, so a dead collector costs memory bounded by the decision log's queue.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import orjson


class HttpSink:
    """POSTs each batch as newline-delimited JSON (`application/x-ndjson`) to `url`.

    Retries a failed POST (connection error, timeout, 429 or 5xx) `retries` times with doubling
    back-off; any other status is final. Works with Vector, Fluent Bit, Logstash and Loki-style
    gateways that accept NDJSON over HTTP. `headers` can carry a token (e.g. from an env var).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.url = url
        self.headers = {"content-type": "application/x-ndjson", **(headers or {})}
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def write(self, data: bytes) -> None:
        error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=data, headers=self.headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    answer.read()
                return
            except urllib.error.HTTPError as e:
                error = f"HTTP {e.code}"
                if e.code != 429 and e.code < 500:
                    break
            except (OSError, ValueError) as e:  # refused, reset, timed out, bad URL
                error = type(e).__name__
        # The URL may hold credentials: name the sink by scheme and host only.
        parts = urllib.parse.urlsplit(self.url)
        raise OSError(f"HTTP sink {parts.scheme}://{parts.hostname}: {error} after {self.retries + 1} attempt(s)")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def otlp_logs_endpoint(environ: Mapping[str, str]) -> str:
    """The OTLP/HTTP logs endpoint from the standard variables, or "" when none is set."""
    if environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"):
        return environ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    return base.rstrip("/") + "/v1/logs" if base else ""


class OtlpLogSink:
    """Sends each decision-log line as an OTLP log record (body: the entry; attributes: the
    decision id, door, action and effect; the record's trace id: the decision's trace), with the
    official OTLP/HTTP exporter. Its own retry and timeout settings (`OTEL_EXPORTER_OTLP_*`) apply.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        from opentelemetry._logs import LogRecord
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
        from opentelemetry.sdk._logs.export import LogRecordExportResult
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource

        env = os.environ if environ is None else environ
        endpoint = otlp_logs_endpoint(env)
        if not endpoint:
            raise ValueError("decision-log otlp: set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")

        class Collect(LogRecordProcessor):
            """Hands the SDK's finished records to this sink, which exports them in one call."""

            def __init__(self) -> None:
                self.records: list[Any] = []

            def on_emit(self, log_record: Any) -> None:
                self.records.append(log_record)

            def shutdown(self) -> None:
                pass

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return True

        self._record = LogRecord
        self._success = LogRecordExportResult.SUCCESS
        self._collect = Collect()
        self._exporter = OTLPLogExporter(endpoint=endpoint)
        resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or "celgate"})
        self._provider = LoggerProvider(resource=resource)
        self._provider.add_log_record_processor(self._collect)
        self._logger = self._provider.get_logger("celgate.decisions")

    def write(self, data: bytes) -> None:
        now = time.time_ns()
        for line in data.splitlines():
            if not line:
                continue
            entry = orjson.loads(line)
            trace_id = entry.get("trace_id", "")
            attributes = {f"celgate.{k}": entry[k] for k in ("decision_id", "door", "action", "effect") if entry.get(k)}
            self._logger.emit(
                self._record(
                    timestamp=now,
                    observed_timestamp=now,
                    trace_id=int(trace_id, 16) if trace_id else None,
                    severity_text="INFO",
                    body=entry,
                    attributes=attributes,
                    event_name="celgate.decision",
                )
            )
        batch, self._collect.records = self._collect.records, []
        if batch and self._exporter.export(batch) != self._success:
            raise OSError(f"OTLP log export of {len(batch)} decision(s) failed")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._exporter.shutdown()

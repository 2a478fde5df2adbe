"""Propagates the application's current OpenTelemetry trace to celgate (W3C `traceparent`).

celgate makes each decision a span that is a child of the caller's trace, so an agent's trace
shows its policy decisions in line. The SDK does not depend on OpenTelemetry: when the application
has not installed it there is no trace to propagate and this costs one `is None` test per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_inject: Callable[..., Any] | None
try:
    from opentelemetry.propagate import inject as _inject
except ImportError:  # the application does not use OpenTelemetry
    _inject = None


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, or {} outside any trace."""
    if _inject is None:
        return {}
    carrier: dict[str, str] = {}
    _inject(carrier)
    return carrier

"""Prometheus metrics, one registry across worker processes.

With several workers the main process sets `PROMETHEUS_MULTIPROC_DIR` before any worker imports
prometheus_client, so every worker writes its samples to a shared directory and any worker's
`/metrics` aggregates them all. Per-request cost is kept low by caching the bound label children:
`observe` is a couple of dict look-ups and two or three increments.

Every door (gRPC, HTTP, Envoy) calls `observe(decision, action, door, latency_s)` and nothing else.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest

_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

DECISIONS = Counter("celgate_decisions", "Decisions by action and effect.", ["action", "effect"])
RULE_MATCHES = Counter("celgate_rule_matches", "Rules that matched, by policy and rule.", ["policy", "rule"])
DURATION = Histogram(
    "celgate_decision_duration_seconds", "Time to decide, per action, door overhead included.", ["action"],
    buckets=_BUCKETS,
)  # fmt: skip
BUNDLE_INFO = Gauge(
    "celgate_bundle_info", "The active policy revision (value 1).", ["revision"], multiprocess_mode="livemax"
)
BUNDLE_LOAD_ERRORS = Counter("celgate_bundle_load_errors", "Policy revisions rejected (compile, tests, signature).")
DECISION_LOG_DROPPED = Counter("celgate_decision_log_dropped", "Decision log entries dropped: the sink was behind.")
APPROVALS_PENDING = Gauge(
    "celgate_approvals_pending",
    "Approvals waiting for a human (read from the approval store at each scrape).",
    multiprocess_mode="livemax",
)
APPROVAL_ACTIONS = Counter(
    "celgate_approval_actions", "Approvers' answers, by outcome: approved, denied, or refused (conflict).", ["outcome"]
)
DECISION_ERRORS = Counter(
    "celgate_decision_errors",
    "Decisions that failed closed because a rule, quota or store errored, by action.",
    ["action"],
)
INVALID_REQUESTS = Counter("celgate_invalid_requests", "Requests rejected as invalid, by door.", ["door"])

_decisions: dict[tuple[str, str], Any] = {}
_rules: dict[tuple[str, str], Any] = {}
_durations: dict[str, Any] = {}
_invalid: dict[str, Any] = {}
_errors: dict[str, Any] = {}


def observe(decision: Any, action: str, door: str, latency_s: float) -> None:
    """Counts one decision; `decision` is a `celgate.Decision`. `door` is kept for symmetry with audit."""
    key = (action, decision.effect)
    child = _decisions.get(key)
    if child is None:
        child = _decisions[key] = DECISIONS.labels(action, decision.effect)
    child.inc()
    hist = _durations.get(action)
    if hist is None:
        hist = _durations[action] = DURATION.labels(action)
    hist.observe(latency_s)
    if decision.failed_closed:
        errors = _errors.get(action)
        if errors is None:
            errors = _errors[action] = DECISION_ERRORS.labels(action)
        errors.inc()
    for reason in decision.reasons:
        rkey = (reason.policy, reason.rule)
        rc = _rules.get(rkey)
        if rc is None:
            rc = _rules[rkey] = RULE_MATCHES.labels(reason.policy, reason.rule)
        rc.inc()


def invalid(door: str) -> None:
    child = _invalid.get(door)
    if child is None:
        child = _invalid[door] = INVALID_REQUESTS.labels(door)
    child.inc()


def approval_action(outcome: str) -> None:
    APPROVAL_ACTIONS.labels(outcome).inc()


def approvals_pending(count: int) -> None:
    APPROVALS_PENDING.set(count)


def bundle_activated(revision: str, previous: str | None) -> None:
    if previous is not None and previous != revision:
        BUNDLE_INFO.labels(previous).set(0)
    BUNDLE_INFO.labels(revision).set(1)


def bundle_rejected() -> None:
    BUNDLE_LOAD_ERRORS.inc()


def log_dropped(count: int = 1) -> None:
    DECISION_LOG_DROPPED.inc(count)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, aggregated over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return _generate_latest(registry), CONTENT_TYPE_LATEST
    return _generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)

"""`Engine.check`: one request in, one decision out. Every door calls this and nothing else.

Semantics (DESIGN.md): deny overrides require_approval overrides allow; no matching rule gives the
action's default; rules of `audit` policies are reported with `enforced: false` and never change
the effect or add obligations; a deny/require_approval rule whose condition errors counts as
matched (fail closed; a deny rule of a policy whose `on_error` is require_approval holds the
request for a human instead), an allow rule that errors does not; a policy's variables are
evaluated at most once per request (per document for per-document policies).

Failing closed: any error while deciding is a decision, never an exception to the door. A CEL
run-time error (a missing key, a bad type, the runtime's iteration budget) fails its rule closed
as above; a decision that runs past its time budget stops evaluating and fails every remaining
deny/require_approval rule closed; anything unexpected (a bug, memory) becomes a deny from the
reason `engine/error`, whose details go to the server log, not to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import logging
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celgate.engine.actions import ALLOW, DENY, EFFECT_RANK, REQUIRE_APPROVAL, RETRIEVAL
from celgate.engine.approval import hold_reasons, settle
from celgate.engine.backends import EvalError
from celgate.engine.compiler import ActionPlan, Bundle, CompiledPolicy, CompiledQuota, CompiledRule, compile_repo
from celgate.engine.datapaths import select_keyed
from celgate.engine.decision import Decision, DocumentDecision, Reason, Redaction, RuleTrace
from celgate.engine.fusion import FusedProgram
from celgate.engine.provenance import SessionContext
from celgate.engine.redaction import apply_redactions
from celgate.engine.request import parse_request
from celgate.engine.scope import DEFAULT_BUDGET_SECONDS, Scope
from celgate.engine.session_memory import SessionMemory
from celgate.quotas import Charge, Outcome, QuotaStoreError
from celgate.sessions.cache import ProvenanceCache
from celgate.stores import Stores
from celgate.v1 import decision_pb2 as pb

log = logging.getLogger("celgate.engine")
_UTC = datetime.UTC
# A decision that has run this long evaluates nothing more: every remaining deny/require_approval
# rule fails closed. One expression is bounded by the runtime's iteration budget; this bounds their sum.
# cel-python (the portable fallback) is about a hundred times slower, so it gets proportionally longer.
DEFAULT_DEADLINE_SECONDS = 2.0
_SLOW_BACKEND_FACTOR = 30
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def next_decision_id() -> str:
    """Unique across processes (a random 64-bit prefix per process) and cheap: no syscall per decision."""
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):016x}"


class _Matched:
    """A rule that matched (or errored and counts as matched), with its rendered message."""

    __slots__ = ("error", "message", "rule")

    def __init__(self, rule: CompiledRule, message: str, error: bool = False) -> None:
        self.rule = rule
        self.message = message
        self.error = error  # matched because something failed (fail closed), not because it held


class Engine:
    """Decides requests against one compiled bundle. Thread-safe; swap engines to change policies.

    `stores` is the state decisions share (quota windows, ...): the default for `check` calls that
    pass none. An engine made without one counts in memory of its own; the service's Decider passes
    the process's stores on every call instead, so a policy reload never resets them.
    """

    def __init__(self, bundle: Bundle, stores: Stores | None = None, *, deadline_seconds: float | None = None) -> None:
        self.bundle = bundle
        self.stores = stores if stores is not None else Stores()
        if deadline_seconds is None:
            deadline_seconds = DEFAULT_DEADLINE_SECONDS * (1 if bundle.backend.type_checked else _SLOW_BACKEND_FACTOR)
        self._deadline = deadline_seconds
        # `detectors.budget_ms` of celgate.yaml, validated with the other detector settings
        settings = getattr(bundle.detectors, "settings", None)
        self._budget = settings.budget_ms / 1000 if settings is not None else DEFAULT_BUDGET_SECONDS
        self._registry = bundle.registry
        self._injected = _injection_check(bundle)
        # Indexes of the sessions this engine has seen, so a re-sent history is indexed once.
        self._provenance = ProvenanceCache()

    @property
    def revision(self) -> str:
        return self.bundle.revision

    def judges(self, action: str) -> bool:
        """Whether a request of `action` can come out other than a plain allow: some policy or quota
        applies to it, or its default is not allow. Doors use it to skip asking at all (Envoy's
        ext_proc skips the response phases of a route whose replies nothing judges)."""
        plan = self.bundle.plans.get(action)
        return plan is None or plan.judges

    def check(
        self, request: Mapping[str, Any] | pb.CheckRequest, *, explain: bool = False, stores: Stores | None = None
    ) -> Decision:
        """Decides one request; raises `InvalidRequest` when it does not fit the schema.

        `stores`: the shared state to charge and read (the Decider passes the process's); None uses
        the engine's own.
        """
        req = parse_request(request)
        stores = stores if stores is not None else self.stores
        try:
            return self._check(req, explain or req.explain, stores)
        except Exception:
            log.exception("error while deciding a %s request; denied", req.action)
            return self._failed(req)

    def _failed(self, req: pb.CheckRequest) -> Decision:
        """The decision for a request the engine could not decide: deny, with a reason and no details."""
        rule = _ENGINE_ERROR
        return Decision(
            effect=DENY,
            reasons=[Reason(rule.policy, rule.name, DENY, rule.message, True)],
            decision_id=next_decision_id(),
            policy_revision=self.bundle.revision,
            message=rule.message,
            failed_closed=True,
        )

    def _check(self, req: pb.CheckRequest, explain: bool, stores: Stores) -> Decision:
        bundle = self.bundle
        backend = bundle.backend
        plan = bundle.plans[req.action]
        trace: list[RuleTrace] | None = [] if explain else None
        memory = SessionMemory.open(req, stores.sessions)
        if memory is None:
            session = SessionContext(req, self._registry, None, self._injected, cache=self._provenance)
        else:
            session = SessionContext(
                req,
                self._registry,
                memory.sources,
                self._injected,
                memory.calls,
                self._provenance,
                memory.memo,
                memory.offset,
            )
        deadline = time.perf_counter() + self._deadline
        with Scope(self._budget, session):
            data = plan.data
            if plan.keyed_data:
                data = select_keyed(data, plan.keyed_data, req)
            bindings = backend.bindings(req, plan.names, data, datetime.datetime.now(_UTC))
            activation = backend.activation(bindings)
            matched: list[_Matched] = []
            doc_policies = plan.document_policies
            fused = plan.fused if trace is None and not _large(req) else None
            if fused is None or not self._run_fused(plan, fused, activation, bindings, matched):
                for policy in plan.request_policies:
                    self._run_policy(policy, activation, bindings, matched, trace, -1, deadline)
            documents: list[DocumentDecision] = []
            doc_matched: list[tuple[int, list[_Matched]]] = []
            if plan.action == RETRIEVAL and doc_policies:
                default = plan.default
                # One evaluation per document, as for the request (fusion); rule by rule on an error.
                fused_doc = plan.fused_documents if trace is None and not _large(req) else None
                for index, doc in enumerate(req.documents):
                    per_doc: list[_Matched] = []
                    doc_bindings = dict(bindings)
                    doc_bindings["document"] = backend.convert_document(doc)
                    doc_activation = backend.activation(doc_bindings)
                    if fused_doc is None or not self._run_fused(plan, fused_doc, doc_activation, doc_bindings, per_doc):
                        for policy in doc_policies:
                            self._run_policy(policy, doc_activation, doc_bindings, per_doc, trace, index, deadline)
                    doc_effect = _combine(per_doc, default)
                    doc_reasons = _reasons(per_doc)
                    if not _decided(per_doc):
                        doc_reasons.append(plan.default_reason)
                    documents.append(DocumentDecision(index, doc.id, doc_effect, tuple(doc_reasons)))
                    doc_matched.append((index, per_doc))
            if memory is not None and (blocked := memory.blocks(req, self._registry)):
                matched.append(_Matched(_SESSION_UNAVAILABLE, blocked, error=True))
            effect = _combine(matched, plan.default)
            retry_after = 0.0
            if effect != DENY and plan.quotas:
                quota_reasons, retry_after = self._charge_quotas(plan, activation, trace, stores)
                if quota_reasons:
                    matched.extend(quota_reasons)
                    effect = _combine(matched, effect)
            reasons = _reasons(matched)
            from_default = not _decided(matched)
            if from_default:
                reasons.append(plan.default_reason)
            decision = Decision(
                effect=effect,
                reasons=reasons,
                decision_id=next_decision_id(),
                policy_revision=bundle.revision,
                documents=documents,
                explanation=trace,
                retry_after_seconds=retry_after,
                failed_closed=any(m.error for m in matched) or any(m.error for _, ms in doc_matched for m in ms),
            )
            if from_default and effect != ALLOW:
                decision.message = plan.default_reason.message
            if matched or doc_matched:
                self._obligations(decision, req, matched, doc_matched)
            if memory is not None:
                failed = memory.record(req, decision, self._registry, session)
                if failed and plan.action == "tool_result" and not memory.store.fail_open and decision.effect != DENY:
                    # Not recorded, a later call would lose where its values came from: withhold it.
                    _withhold(decision, failed)
        if effect == REQUIRE_APPROVAL and stores.approvals is not None:
            settle(stores.approvals, decision, req, hold_reasons(decision.reasons), bundle.detectors)
        return decision

    def _run_fused(
        self, plan: ActionPlan, fused: FusedProgram, activation: Any, bindings: dict[str, Any], matched: list[_Matched]
    ) -> bool:
        """Evaluates every request-level rule of the action at once; False means "use the slow path"."""
        masks = self.bundle.backend.evaluate(fused.program, activation)
        if isinstance(masks, EvalError):
            return False
        for policy, mask in zip(fused.policies, masks, strict=True):
            if not mask:
                continue
            policy_activation = None
            for i, rule in enumerate(policy.rules):
                if not mask >> i & 1:
                    continue
                message_program = plan.fused_messages.get(rule.key)
                if message_program is not None:
                    matched.append(_Matched(rule, self._render(rule, message_program, activation)))
                    continue
                if rule.message_expr is not None and policy_activation is None:
                    policy_activation = (
                        self._with_variables(policy, activation, bindings, None, -1, None)
                        if policy.variables
                        else activation
                    )
                matched.append(_Matched(rule, self._message(rule, policy_activation or activation)))
        return True

    def _run_policy(
        self,
        policy: CompiledPolicy,
        activation: Any,
        bindings: dict[str, Any],
        matched: list[_Matched],
        trace: list[RuleTrace] | None,
        document: int,
        deadline: float,
    ) -> None:
        evaluate = self.bundle.backend.evaluate
        if time.perf_counter() > deadline:
            evaluate = self._late
        if policy.when is not None:
            started = time.perf_counter_ns() if trace is not None else 0
            guard = evaluate(policy.when, activation)
            if guard is not True:
                if trace is not None:
                    elapsed = time.perf_counter_ns() - started
                    if guard is False:
                        trace.append(RuleTrace(policy.name, "", "not_matched", "", elapsed, document))
                        trace.extend(RuleTrace(policy.name, r.name, "skipped", "", 0, document) for r in policy.rules)
                    else:
                        trace.append(RuleTrace(policy.name, "", "error", _error(guard), elapsed, document))
                if guard is False:
                    return
                # A guard that errors does not switch the policy off: its rules run (and fail closed).
        if policy.variables:
            activation = self._with_variables(policy, activation, bindings, trace, document, deadline)
        for rule in policy.rules:
            if rule.when is None:
                result: Any = True
                elapsed = 0
            else:
                started = time.perf_counter_ns() if trace is not None else 0
                result = evaluate(rule.when, activation)
                elapsed = time.perf_counter_ns() - started if trace is not None else 0
            if result is True:
                matched.append(_Matched(rule, self._message(rule, activation)))
                if trace is not None:
                    trace.append(RuleTrace(policy.name, rule.name, "matched", "", elapsed, document))
            elif result is False:
                if trace is not None:
                    trace.append(RuleTrace(policy.name, rule.name, "not_matched", "", elapsed, document))
            else:
                error = _error(result)
                if trace is not None:
                    trace.append(RuleTrace(policy.name, rule.name, "error", error, elapsed, document))
                # Allow and obligation-only rules have no error effect: an error does not match them.
                if rule.error_effect is not None and rule.error_effect == rule.effect:
                    matched.append(_Matched(rule, f"{rule.key} failed closed: {error}", error=True))
                elif rule.error_effect is not None:  # a deny rule of a policy with on_error: require_approval
                    held = dataclasses.replace(rule, effect=rule.error_effect)
                    message = f"{rule.key} could not be evaluated; held for approval (on_error): {error}"
                    matched.append(_Matched(held, message, error=True))

    def _charge_quotas(
        self, plan: ActionPlan, activation: Any, trace: list[RuleTrace] | None, stores: Stores
    ) -> tuple[list[_Matched], float]:
        """Charges the request to every applicable quota at once; denies when one is spent."""
        evaluate = self.bundle.backend.evaluate
        charges: list[Charge] = []
        applied: list[CompiledQuota] = []
        failed: list[_Matched] = []
        quotas = plan.quotas
        fused = plan.fused_quotas if trace is None else None
        pairs = evaluate(fused, activation) if fused is not None else None
        if pairs is not None and not isinstance(pairs, EvalError):
            for q, pair in zip(quotas, pairs, strict=True):
                if not pair:
                    continue
                key, cost = pair
                if type(cost) is not int and (isinstance(cost, bool) or not isinstance(cost, int | float)):
                    break  # let the careful path below report it
                charges.append(Charge(f"{q.name}:{key}", max(0, int(cost)), q.limit, q.window_seconds))
                applied.append(q)
            else:
                quotas = ()
        if quotas:
            charges, applied = [], []
        for q in quotas:
            if q.when is not None:
                guard = evaluate(q.when, activation)
                if guard is False:
                    continue
            key = evaluate(q.key, activation)
            cost: Any = 1 if q.cost is None else evaluate(q.cost, activation)
            bad = key if isinstance(key, EvalError) else cost if isinstance(cost, EvalError) else None
            if bad is not None or isinstance(cost, bool) or not isinstance(cost, int | float):
                error = bad.message if bad is not None else f"cost must be a number, got {type(cost).__name__}"
                if trace is not None:
                    trace.append(RuleTrace("quota", q.name, "error", error, 0, -1))
                if q.enforced:
                    failed.append(_Matched(_quota_rule(q), f"quota {q.name} failed closed: {error}", error=True))
                continue
            charges.append(Charge(f"{q.name}:{key}", max(0, int(cost)), q.limit, q.window_seconds))
            applied.append(q)
        if not charges:
            return failed, 0.0
        # Enforced quotas are charged together, all or nothing (a request one of them denies costs
        # none of them); audit-mode quotas each on their own, so they never deny and never stop an
        # enforced quota, or each other, from counting.
        now = time.time()
        enforced: list[Charge] = []
        audited: list[Charge] = []
        for charge, q in zip(charges, applied, strict=True):
            (enforced if q.enforced else audited).append(charge)
        try:
            # One call (one Redis round trip) for both groups; same answers as two consume calls.
            got_enforced, got_audited = stores.quotas.consume_split(enforced, audited, now)
        except QuotaStoreError as exc:
            log.warning("quota store unavailable: %s", exc)
            if self.bundle.config.on_error == "allow" or not enforced:
                return failed, 0.0
            # The client is told the store is down, never where it is (exc names the address).
            return [*failed, _Matched(_STORE_DOWN, "quota store unavailable; denied", error=True)], 0.0
        if trace is None and all(o.allowed for o in got_enforced) and all(o.allowed for o in got_audited):
            return failed, 0.0  # the common case: every bucket had room, nothing to report
        enforced_outcomes, audited_outcomes = iter(got_enforced), iter(got_audited)
        retry = 0.0
        for q in applied:  # in the order the quotas are declared, as the reasons are
            outcome: Outcome = next(enforced_outcomes if q.enforced else audited_outcomes)
            if trace is not None:
                trace.append(RuleTrace("quota", q.name, "not_matched" if outcome.allowed else "matched", "", 0, -1))
            if not outcome.allowed:
                if q.enforced:
                    retry = max(retry, outcome.retry_after_seconds)
                message = q.message or f"quota {q.name} exhausted; retry in {outcome.retry_after_seconds:.0f}s"
                failed.append(_Matched(_quota_rule(q), message))
        return failed, retry

    def _with_variables(
        self,
        policy: CompiledPolicy,
        activation: Any,
        bindings: dict[str, Any],
        trace: list[RuleTrace] | None,
        document: int,
        deadline: float | None,
    ) -> Any:
        backend = self.bundle.backend
        values: dict[str, Any] = {}
        scoped = dict(bindings)
        for name, program, reads_vars in policy.variables:
            evaluate = self._late if deadline is not None and time.perf_counter() > deadline else backend.evaluate
            if reads_vars:
                scoped["vars"] = backend.variables(values)
                value = evaluate(program, backend.activation(scoped))
            else:
                value = evaluate(program, activation)
            if isinstance(value, EvalError):
                # Left unbound: rules that read it error, and deny rules fail closed.
                if trace is not None:
                    trace.append(RuleTrace(policy.name, f"vars.{name}", "error", value.message, 0, document))
                continue
            values[name] = value
        scoped["vars"] = backend.variables(values)
        return backend.activation(scoped)

    def _late(self, program: Any, activation: Any) -> EvalError:
        """What every evaluation returns once the decision has spent its time budget."""
        return EvalError(f"decision time budget of {self._deadline * 1000:.0f} ms exceeded")

    def _message(self, rule: CompiledRule, activation: Any) -> str:
        if rule.message_expr is not None:
            return self._render(rule, rule.message_expr, activation)
        return rule.message

    def _render(self, rule: CompiledRule, program: Any, activation: Any) -> str:
        value = self.bundle.backend.evaluate(program, activation)
        if isinstance(value, EvalError):
            return f"{rule.key} (message error: {value.message})"
        return str(value)

    def _obligations(
        self,
        decision: Decision,
        req: pb.CheckRequest,
        matched: list[_Matched],
        doc_matched: list[tuple[int, list[_Matched]]],
    ) -> None:
        enforced = [m.rule for m in matched if m.rule.enforced]
        labels: dict[str, None] = {}
        for rule in enforced:
            labels.update(dict.fromkeys(rule.labels))
        for _, per_doc in doc_matched:
            for m in per_doc:
                if m.rule.enforced:
                    labels.update(dict.fromkeys(m.rule.labels))
        decision.labels = list(labels)
        if decision.effect == REQUIRE_APPROVAL:
            decision.approval_id = "apr_" + uuid.uuid4().hex
        first = next((m for m in matched if m.rule.enforced and m.rule.effect == decision.effect), None)
        if first is not None and decision.effect != ALLOW:
            decision.message = first.message or f"{decision.effect.replace('_', ' ')} by {first.rule.key}"
        if decision.effect == DENY:
            return
        redacting = [(r, -1) for r in enforced if r.redact is not None]
        for index, per_doc in doc_matched:
            redacting += [(m.rule, index) for m in per_doc if m.rule.enforced and m.rule.redact is not None]
        if redacting and self.bundle.detectors is not None:
            redactions, rewritten = apply_redactions(self.bundle.detectors, req, redacting)
            decision.redactions = redactions
            decision.rewritten = rewritten


def _injection_check(bundle: Bundle) -> Any:
    """Whether a source carries injection signals, for `injected_sources()` and to withdraw the
    endorsement `user_named_origin` gives a source the user named."""
    suite = bundle.detectors
    if suite is None:
        return None
    threshold = bundle.injection_threshold

    @functools.lru_cache(maxsize=4096)
    def injected(text: str) -> bool:
        # Cached per bundle: a session's sources are re-sent with every check.
        return suite.injection_score(text) >= threshold

    return injected


_SESSION_UNAVAILABLE = CompiledRule(
    "session", "store-unavailable", "session/store-unavailable", DENY, None, "", None, None, (), True
)


def _withhold(decision: Decision, error: str) -> None:
    message = f"{error}; the tool result could not be recorded in its session"
    decision.effect = DENY
    decision.message = message
    decision.reasons = [*decision.reasons, Reason("session", "store-unavailable", DENY, message, True)]
    decision.redactions = []
    decision.rewritten = {}
    decision.failed_closed = True


_STORE_DOWN = CompiledRule(
    "quota", "store-unavailable", "quota/store-unavailable", DENY, None, "", None, None, (), True
)
_ENGINE_ERROR = CompiledRule(
    "engine", "error", "engine/error", DENY, None, "internal error while deciding; denied", None, None, (), True
)


# The fused program runs every rule's loops in one evaluation against one iteration budget, and
# lists built in a loop (`filter`, `map`) cost the C++ runtime time quadratic in their length: a
# request this long goes rule by rule, where each rule has its own budget and the deadline applies.
_FUSED_MAX_ITEMS = 512


def _large(req: pb.CheckRequest) -> bool:
    return (
        len(req.messages) > _FUSED_MAX_ITEMS
        or len(req.documents) > _FUSED_MAX_ITEMS
        or len(req.tools) > _FUSED_MAX_ITEMS
    )


def _quota_rule(q: CompiledQuota) -> CompiledRule:
    return CompiledRule("quota", q.name, f"quota/{q.name}", DENY, None, q.message, None, None, (), q.enforced)


def _error(value: Any) -> str:
    return value.message if isinstance(value, EvalError) else f"expected a bool, got {type(value).__name__}"


def _combine(matched: list[_Matched], default: str) -> str:
    effect = None
    for m in matched:
        rule = m.rule
        if rule.effect is None or not rule.enforced:
            continue
        if effect is None or EFFECT_RANK[rule.effect] > EFFECT_RANK[effect]:
            effect = rule.effect
    return default if effect is None else effect


def _decided(matched: list[_Matched]) -> bool:
    """Whether an enforced rule with an effect matched (else the effect is the action's default)."""
    return any(m.rule.effect is not None and m.rule.enforced for m in matched)


def _reasons(matched: list[_Matched]) -> list[Reason]:
    # A rule with only obligations (redact, labels) lets the request through, rewritten or labelled.
    return [Reason(m.rule.policy, m.rule.name, m.rule.effect or ALLOW, m.message, m.rule.enforced) for m in matched]


def load(
    path: str | Path,
    *,
    backend: str | None = None,
    revision: str | None = None,
    stores: Stores | None = None,
) -> Engine:
    """Compiles the policy repository at `path`; raises PolicyLoadError listing every problem.

    `stores`: the engine's default shared state (see `Engine`); None gives it in-memory stores.
    """
    return Engine(compile_repo(path, backend=backend, revision=revision), stores)


__all__ = ["Decision", "Engine", "Redaction", "load"]

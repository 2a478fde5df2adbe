"""Applies `redact` obligations: finds the named detector types in the rule's content fields and
returns the redactions and the rewritten text per field.

Redactions of every matching rule are merged per field, so overlapping spans from two rules
become one; when rules ask for different replacement templates, the first rule's (policy order)
wins for that field.
"""

from __future__ import annotations

from typing import Any

from celgate.engine import content
from celgate.engine.compiler import CompiledRule
from celgate.engine.decision import Redaction
from celgate.v1 import decision_pb2 as pb


def apply_redactions(
    detectors: Any, req: pb.CheckRequest, rules: list[tuple[CompiledRule, int]]
) -> tuple[list[Redaction], dict[str, str]]:
    texts: dict[str, str] = {}
    wanted: dict[str, list[tuple[CompiledRule, Any]]] = {}
    for rule, document in rules:
        redact = rule.redact
        assert redact is not None
        specs = redact.fields or content.DEFAULT[req.action]
        for spec in specs:
            for path, text in content.texts(req, spec, document):
                if not text:
                    continue
                texts[path] = text
                wanted.setdefault(path, []).append((rule, detectors.find(text, redact.detectors)))
    redactions: list[Redaction] = []
    rewritten: dict[str, str] = {}
    tenant = req.principal.tenant
    for path, per_rule in wanted.items():
        findings = [f for _, fs in per_rule for f in fs]
        if not findings:
            continue
        first_rule = next(rule for rule, fs in per_rule if fs)
        assert first_rule.redact is not None
        new_text, spans = detectors.redact(texts[path], findings, first_rule.redact.replacement, tenant=tenant)
        if new_text == texts[path]:
            continue
        rewritten[path] = new_text
        for span in spans:
            owner = next(
                (r for r, fs in per_rule if any(f.start < span.end and span.start < f.end for f in fs)), first_rule
            )
            redactions.append(Redaction(path, span.start, span.end, span.type, owner.key))
    return redactions, rewritten

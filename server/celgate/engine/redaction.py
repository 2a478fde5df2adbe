"""Applies `redact` obligations: finds the named detector types in the rule's content fields and
returns the redactions and the rewritten text per field.

Redactions of every matching rule are merged per field, so overlapping spans from two rules
become one; when rules ask for different replacement templates, the first rule's (policy order)
wins for that field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf import struct_pb2

from celgate.engine.actions import CONTENT_FIELDS
from celgate.engine.compiler import CompiledRule
from celgate.engine.decision import Redaction
from celgate.v1 import decision_pb2 as pb


def _struct_strings(prefix: str, struct: struct_pb2.Struct, only: str | None) -> Iterator[tuple[str, str]]:
    for key, value in struct.fields.items():
        if only is not None and key != only:
            continue
        path = f"{prefix}.{key}"
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            yield path, value.string_value
        elif kind == "struct_value":
            yield from _struct_strings(path, value.struct_value, None)
        elif kind == "list_value":
            for i, item in enumerate(value.list_value.values):
                if item.WhichOneof("kind") == "string_value":
                    yield f"{path}[{i}]", item.string_value


def content_fields(req: pb.CheckRequest, spec: str, document: int) -> Iterator[tuple[str, str]]:
    """Expands a field spec (`messages.content`, `tool.args.query`, ...) to (path, text) pairs."""
    if spec == "response.content":
        yield "response.content", req.response.content
    elif spec == "tool.result":
        yield "tool.result", req.tool.result
    elif spec.startswith("tool.args"):
        only = spec[len("tool.args.") :] if spec.startswith("tool.args.") else None
        if only == "*":
            only = None
        yield from _struct_strings("tool.args", req.tool.args, only)
    elif spec.startswith(("messages", "documents", "document")):
        name = "documents" if spec.startswith("document") else "messages"
        items = req.documents if name == "documents" else req.messages
        indexes: range | list[int] = range(len(items))
        if "[" in spec and "[*]" not in spec:
            indexes = [int(spec[spec.index("[") + 1 : spec.index("]")])]
        if name == "documents" and document >= 0:
            indexes = [document]
        for i in indexes:
            if 0 <= i < len(items):
                yield f"{name}[{i}].content", items[i].content


def apply_redactions(
    detectors: Any, req: pb.CheckRequest, rules: list[tuple[CompiledRule, int]]
) -> tuple[list[Redaction], dict[str, str]]:
    texts: dict[str, str] = {}
    wanted: dict[str, list[tuple[CompiledRule, Any]]] = {}
    for rule, document in rules:
        redact = rule.redact
        assert redact is not None
        specs = redact.fields or CONTENT_FIELDS[req.action]
        for spec in specs:
            for path, text in content_fields(req, spec, document):
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

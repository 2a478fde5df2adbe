"""Counts what the shipped policies do to ordinary traffic, per control.

Prompts (data/ordinary_prompts.yaml) are sent as prompts; documents (data/ordinary_documents.yaml)
as a retrieval and, one by one, as web-page tool results; replies (data/ordinary_replies.yaml) as
responses to an HTML-rendering client, with the documents supplied. `python -m
tests.scenarios.false_positives` prints the table that docs/owasp.md quotes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from celgate.engine.engine import Engine
from tests.scenarios.harness import shipped_engine

DATA = Path(__file__).parent / "data"
SYSTEM = "You are Acme's assistant. [cg-canary-7f3a9c21] Answer briefly and cite documents by id."
PRINCIPAL = {"id": "fp-user", "roles": ["user"], "tenant": "acme"}
MODEL = {"provider": "openai", "name": "gpt-4o"}


@dataclass
class Counts:
    checks: Counter[str] = field(default_factory=Counter)  # per kind of input
    blocked: Counter[str] = field(default_factory=Counter)  # per kind of input: not allowed
    enforced: Counter[str] = field(default_factory=Counter)  # per rule: denied / approval, enforced
    audit: Counter[str] = field(default_factory=Counter)  # per rule: would have denied (audit mode)
    rewrites: Counter[str] = field(default_factory=Counter)  # per rule: redaction or label obligations
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, text: str, effect: str, reasons: list) -> None:  # type: ignore[type-arg]
        self.checks[kind] += 1
        if effect != "allow":
            self.blocked[kind] += 1
        for r in reasons:
            if r.policy == "defaults":  # no rule decided: nothing fired
                continue
            key = f"{r.policy}/{r.rule}"
            stops = r.effect in ("deny", "require_approval")
            bucket = self.rewrites if not stops else self.enforced if r.enforced else self.audit
            bucket[key] += 1
            self.examples.setdefault(key, text[:70])


def load(name: str) -> list:  # type: ignore[type-arg]
    return yaml.safe_load((DATA / name).read_text())


def measure(engine: Engine | None = None) -> Counts:
    engine = engine or shipped_engine()
    counts = Counts()
    docs = [
        dict(d, source=f"kb://handbook/{d['id']}", labels=["provenance:kb", "tenant:acme"])
        for d in load("ordinary_documents.yaml")
    ]
    for text in load("ordinary_prompts.yaml"):
        d = engine.check(
            {
                "action": "prompt",
                "principal": PRINCIPAL,
                "model": MODEL,
                "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
            }
        )
        counts.add("prompt", text, d.effect, d.reasons)
    d = engine.check({"action": "retrieval", "principal": PRINCIPAL, "documents": docs})
    for doc, dd in zip(docs, d.documents, strict=True):
        counts.add("document", doc["content"], dd.effect, list(dd.reasons))
    for doc in docs:
        d = engine.check(
            {"action": "tool_result", "principal": PRINCIPAL, "tool": {"name": "fetch_page", "result": doc["content"]}}
        )
        counts.add("tool_result", doc["content"], d.effect, d.reasons)
    for text in load("ordinary_replies.yaml"):
        d = engine.check(
            {
                "action": "response",
                "principal": PRINCIPAL,
                "context": {"renders_html": True},
                "messages": [{"role": "system", "content": SYSTEM}],
                "documents": docs[:3],
                "response": {"role": "assistant", "content": text},
            }
        )
        counts.add("response", text, d.effect, d.reasons)
    return counts


def table(c: Counts) -> list[str]:
    out = ["| input | checks | not allowed |", "|---|---|---|"]
    out += [f"| {k} | {c.checks[k]} | {c.blocked[k]} |" for k in c.checks]
    out += [
        "",
        "| control (policy/rule) | enforced denials or approvals | audit-mode hits | rewrites/labels |",
        "|---|---|---|---|",
    ]
    for key in sorted(set(c.enforced) | set(c.audit) | set(c.rewrites)):
        out.append(f"| {key} | {c.enforced[key]} | {c.audit[key]} | {c.rewrites[key]} |")
    return out


if __name__ == "__main__":
    counts = measure()
    print("\n".join(table(counts)))
    for key, example in sorted(counts.examples.items()):
        print(f"  {key}: {example!r}")

"""Replays agent sessions through `Engine.check` the way a client would.

A `Session` keeps the conversation and the session labels (adding the labels each decision asks
for), withholds tool results and documents that were denied, and uses rewritten (redacted)
content when a decision rewrote it. Every check is recorded as a `Step` of either the legitimate
task or a named attack, so a scenario can assert on both and the tally can be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import celgate
from celgate.engine.engine import Engine

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def shipped_engine() -> Engine:
    return celgate.load(POLICIES)


@dataclass
class Step:
    scenario: str
    what: str  # "legit" or the attack's name
    action: str
    detail: str
    effect: str
    rules: list[str]
    neutralised: bool = False  # allowed, but the dangerous part was rewritten away


@dataclass
class Session:
    engine: Engine
    scenario: str
    principal: dict[str, Any]
    model: dict[str, str]
    system: str
    session_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.messages.append({"role": "system", "content": self.system})

    def _base(self, action: str) -> dict[str, Any]:
        return {
            "action": action,
            "principal": self.principal,
            "model": self.model,
            "messages": list(self.messages),
            "session": {"id": self.session_id, "labels": list(self.labels)},
        }

    def _record(self, what: str, action: str, detail: str, decision: Any, neutralised: bool = False) -> Any:
        for label in decision.labels:
            if label not in self.labels:
                self.labels.append(label)
        self.steps.append(
            Step(self.scenario, what, action, detail, decision.effect, decision.matched_rules(), neutralised)
        )
        return decision

    def user(self, text: str, what: str = "legit", tools: list[dict[str, Any]] | None = None) -> Any:
        self.messages.append({"role": "user", "content": text})
        req = self._base("prompt")
        req["tools"] = tools if tools is not None else self.tools
        d = self._record(what, "prompt", text[:60], self.engine.check(req))
        if d.effect != "allow":
            self.messages.pop()
        return d

    def call(self, name: str, args: dict[str, Any], what: str = "legit", **tool: Any) -> Any:
        req = self._base("tool_call")
        req["tool"] = {"name": name, "args": args, **tool}
        d = self._record(what, "tool_call", f"{name}({args})", self.engine.check(req))
        if d.effect == "allow":
            self.messages.append({"role": "assistant", "content": "", "tool_calls": [{"name": name, "args": args}]})
        return d

    def result(self, name: str, text: str, what: str = "legit", must_not_contain: str = "") -> Any:
        req = self._base("tool_result")
        req["tool"] = {"name": name, "result": text}
        decision = self.engine.check(req)
        delivered = decision.rewritten.get("tool.result", text)
        neutralised = bool(must_not_contain) and decision.effect == "allow" and must_not_contain not in delivered
        d = self._record(what, "tool_result", f"{name} -> {text[:50]}", decision, neutralised)
        if d.effect == "allow":
            self.messages.append({"role": "tool", "content": delivered, "tool_call_id": name})
        return d

    def retrieve(self, documents: list[dict[str, Any]], what: str = "legit") -> list[dict[str, Any]]:
        req = self._base("retrieval")
        req["documents"] = [{k: v for k, v in d.items() if k != "attack"} for d in documents]
        decision = self.engine.check(req)
        passed = [doc for doc, dd in zip(documents, decision.documents, strict=True) if dd.effect == "allow"]
        for doc, dd in zip(documents, decision.documents, strict=True):
            kind = doc.get("attack", what)
            self.steps.append(
                Step(self.scenario, kind, "retrieval", f"document {doc['id']}", dd.effect, [r.key for r in dd.reasons])
            )
        for label in decision.labels:
            if label not in self.labels:
                self.labels.append(label)
        return [{k: v for k, v in d.items() if k != "attack"} for d in passed]

    def reply(
        self,
        text: str,
        what: str = "legit",
        documents: list[dict[str, Any]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        req = self._base("response")
        req["response"] = {"role": "assistant", "content": text}
        if documents:
            req["documents"] = documents
        if context:
            req["context"] = context
        d = self._record(what, "response", text[:60], self.engine.check(req))
        if d.effect == "allow":
            self.messages.append({"role": "assistant", "content": d.rewritten.get("response.content", text)})
        return d


@dataclass
class Tally:
    attacks: dict[str, bool] = field(default_factory=dict)  # "scenario: attack" -> stopped
    legit_passed: int = 0
    legit_approved: int = 0
    legit_denied: list[str] = field(default_factory=list)

    def add(self, steps: list[Step]) -> None:
        for s in steps:
            if s.what == "legit":
                if s.effect == "allow":
                    self.legit_passed += 1
                elif s.effect == "require_approval":
                    self.legit_approved += 1
                else:
                    self.legit_denied.append(f"{s.scenario}: {s.action} {s.detail} {s.rules}")
            else:
                key = f"{s.scenario}: {s.what}"
                stopped = s.effect != "allow" or s.neutralised
                self.attacks[key] = self.attacks.get(key, False) or stopped

    def lines(self) -> list[str]:
        stopped = sum(self.attacks.values())
        out = [
            f"attacks stopped or sent for approval: {stopped}/{len(self.attacks)}",
            f"legitimate checks passed: {self.legit_passed} allowed, {self.legit_approved} after a human approval,"
            f" {len(self.legit_denied)} denied",
        ]
        out += [f"  {'stopped' if v else 'MISSED '}  {k}" for k, v in sorted(self.attacks.items())]
        return out

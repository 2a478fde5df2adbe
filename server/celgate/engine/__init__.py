"""The engine: policy model, CEL compilation, evaluation. No door has decision logic of its own."""

from celgate.engine.compiler import Bundle, compile_repo
from celgate.engine.decision import Decision, DocumentDecision, Reason, Redaction, RuleTrace
from celgate.engine.engine import Engine, load
from celgate.engine.errors import InvalidRequest, PolicyError, PolicyLoadError

__all__ = [
    "Bundle",
    "Decision",
    "DocumentDecision",
    "Engine",
    "InvalidRequest",
    "PolicyError",
    "PolicyLoadError",
    "Reason",
    "Redaction",
    "RuleTrace",
    "compile_repo",
    "load",
]

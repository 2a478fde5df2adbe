"""celgate: a policy decision point for LLM workloads.

import celgate
engine = celgate.load("policies/")
decision = engine.check({"action": "tool_call", "principal": {"id": "u1"}, "tool": {"name": "shell"}})
decision.effect  # "deny"
"""

from celgate.engine import (
    Decision,
    Engine,
    InvalidRequest,
    PolicyError,
    PolicyLoadError,
    load,
)

__version__ = "0.1.0"
__all__ = ["Decision", "Engine", "InvalidRequest", "PolicyError", "PolicyLoadError", "__version__", "load"]

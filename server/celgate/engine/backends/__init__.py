"""CEL backends behind one small interface.

`closures` is the default: every expression is type-checked by cel-expr-python (Google's C++
runtime) against the proto, then evaluated as generated Python code over the request's own values,
with no per-request conversion; what it does not reproduce exactly it hands to the C++ runtime
(see `backends.closures`). `cpp` evaluates everything in the C++ runtime (the oracle the closures
are differential-tested against). `python` (cel-python) is the portable fallback where no C++
wheel exists and the oracle of the C++ runtime in turn.
"""

from __future__ import annotations

import importlib.util
import logging
import os

from celgate.engine.backends.base import Backend, CelCompileError, EvalError, FunctionSpec, Kind

__all__ = ["Backend", "CelCompileError", "EvalError", "FunctionSpec", "Kind", "new_backend"]

log = logging.getLogger("celgate.engine")


def new_backend(name: str | None, functions: list[FunctionSpec]) -> Backend:
    """Selects a backend: the argument, else CELGATE_CEL_BACKEND, else closures when cel-expr-python
    is importable (it type-checks and evaluates what the closures leave to it), else python."""
    choice = (name or os.environ.get("CELGATE_CEL_BACKEND") or "").strip().lower() or None
    if choice not in (None, "cpp", "closures", "python"):
        raise ValueError(f"unknown CEL backend {choice!r}; expected 'cpp', 'closures' or 'python'")
    if choice in (None, "closures", "cpp"):
        # Only the third-party wheel may be missing (no C++ build for this platform); an error in
        # our own module is an error, not a reason to fall back.
        if importlib.util.find_spec("cel_expr_python") is not None:
            if choice == "cpp":
                from celgate.engine.backends.cpp import CppBackend

                return CppBackend(functions)
            from celgate.engine.backends.closures import ClosuresBackend

            return ClosuresBackend(functions)
        if choice is not None:
            raise ImportError(f"the {choice} CEL backend needs cel-expr-python, which is not installed")
        log.warning("cel-expr-python is not installed; using the pure-Python CEL backend")
    from celgate.engine.backends.python import PythonBackend

    return PythonBackend(functions)

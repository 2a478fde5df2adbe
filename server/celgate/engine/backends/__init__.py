"""CEL backends behind one small interface.

`cpp` (cel-expr-python, Google's C++ runtime) is the default: it type-checks against the proto and
evaluates in microseconds. `closures` (opt-in) type-checks with the same runtime, then evaluates
CEL as Python closures over the request's own values, with no per-request conversion; what it does
not reproduce exactly it hands to the C++ runtime (see `backends.closures`). `python` (cel-python)
is the portable fallback where no C++ wheel exists and the differential oracle the test suite
compares against.
"""

from __future__ import annotations

import importlib.util
import logging
import os

from celgate.engine.backends.base import Backend, CelCompileError, EvalError, FunctionSpec, Kind

__all__ = ["Backend", "CelCompileError", "EvalError", "FunctionSpec", "Kind", "new_backend"]

log = logging.getLogger("celgate.engine")


def new_backend(name: str | None, functions: list[FunctionSpec]) -> Backend:
    """Selects a backend: the argument, else CELGATE_CEL_BACKEND, else cpp when importable."""
    choice = (name or os.environ.get("CELGATE_CEL_BACKEND") or "").strip().lower() or None
    if choice not in (None, "cpp", "closures", "python"):
        raise ValueError(f"unknown CEL backend {choice!r}; expected 'cpp', 'closures' or 'python'")
    if choice == "closures":
        if importlib.util.find_spec("cel_expr_python") is None:
            raise ImportError("the closures CEL backend needs cel-expr-python, which is not installed")
        from celgate.engine.backends.closures import ClosuresBackend

        return ClosuresBackend(functions)
    if choice in (None, "cpp"):
        # Only the third-party wheel may be missing (no C++ build for this platform); an error in
        # our own module is an error, not a reason to fall back.
        if importlib.util.find_spec("cel_expr_python") is not None:
            from celgate.engine.backends.cpp import CppBackend

            return CppBackend(functions)
        if choice == "cpp":
            raise ImportError("the cpp CEL backend needs cel-expr-python, which is not installed")
        log.warning("cel-expr-python is not installed; using the pure-Python CEL backend")
    from celgate.engine.backends.python import PythonBackend

    return PythonBackend(functions)

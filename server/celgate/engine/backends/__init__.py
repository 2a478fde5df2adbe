"""CEL backends behind one small interface.

`cpp` (cel-expr-python, Google's C++ runtime) is the default: it type-checks against the proto and
evaluates in microseconds. `python` (cel-python) is the portable fallback where no C++ wheel exists
and the differential oracle the test suite compares against.
"""

from __future__ import annotations

import logging
import os

from celgate.engine.backends.base import Backend, CelCompileError, EvalError, FunctionSpec, Kind

__all__ = ["Backend", "CelCompileError", "EvalError", "FunctionSpec", "Kind", "available", "new_backend"]

log = logging.getLogger("celgate.engine")


def available() -> list[str]:
    names = []
    try:
        import cel_expr_python  # noqa: F401

        names.append("cpp")
    except ImportError:
        pass
    names.append("python")
    return names


def new_backend(name: str | None, functions: list[FunctionSpec]) -> Backend:
    """Selects a backend: the argument, else CELGATE_CEL_BACKEND, else cpp when importable."""
    choice = (name or os.environ.get("CELGATE_CEL_BACKEND") or "").strip().lower() or None
    if choice not in (None, "cpp", "python"):
        raise ValueError(f"unknown CEL backend {choice!r}; expected 'cpp' or 'python'")
    if choice in (None, "cpp"):
        try:
            from celgate.engine.backends.cpp import CppBackend

            return CppBackend(functions)
        except ImportError as exc:
            if choice == "cpp":
                raise
            log.warning("cel-expr-python is not importable (%s); using the pure-Python CEL backend", exc)
    from celgate.engine.backends.python import PythonBackend

    return PythonBackend(functions)

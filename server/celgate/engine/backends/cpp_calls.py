"""Python functions called from cel-expr-python without its per-call reference leak.

cel-expr-python 0.1.3 (the newest release) builds an argument tuple for every call of a
Python-implemented CEL function and never releases it, and never releases the value the function
returns (`PyCelFunctionAdapter::Invoke`: `PyTuple_New`, `PyObject_CallObject`, no `Py_DECREF` of
either; the upstream source fixed this after the release). Every detector call so leaked a copy of
the text it was given plus its result: about 3 KB per `response` decision of the shipped library,
without bound. `tests/unit/test_cpp_call_leak.py` holds the minimal reproduction.

The binding cannot be changed from here, so each function is handed to it as an instance of a small
type whose `tp_call` (made with ctypes through the stable ABI, `PyType_FromSpec`) receives the very
tuple the binding built: it drops the binding's reference to that tuple and returns a borrowed
reference to a result it keeps alive until the evaluation ends (`settle()`), which balances the
binding's missing release. Whether the installed binding leaks is probed once, on a throwaway
environment, so a fixed release gets plain Python functions and is never over-released.

A ctypes callback cannot raise into its C caller, so an exception is remembered per thread, the call
returns NULL (the binding turns that into a CEL error value) and `settle()` hands the exception back.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from cel_expr_python import cel
from google.protobuf import descriptor_pool

_Py_tp_call = 50  # typeslots.h; part of the stable ABI
_Py_TPFLAGS_DEFAULT = 1 << 18  # Py_TPFLAGS_HAVE_VERSION_TAG


class _Slot(ctypes.Structure):
    _fields_ = [("slot", ctypes.c_int), ("pfunc", ctypes.c_void_p)]


class _Spec(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("basicsize", ctypes.c_int),
        ("itemsize", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("slots", ctypes.POINTER(_Slot)),
    ]


_TERNARYFUNC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p)
_type_from_spec = ctypes.pythonapi.PyType_FromSpec
_type_from_spec.argtypes = [ctypes.POINTER(_Spec)]
_type_from_spec.restype = ctypes.py_object
_decref = ctypes.pythonapi.Py_DecRef
_decref.argtypes = [ctypes.c_void_p]
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.c_void_p]


class _Thread(threading.local):
    def __init__(self) -> None:
        self.kept: list[Any] = []
        self.failure: BaseException | None = None


_thread = _Thread()


class Leaks:
    """What the installed binding fails to release per call (found by `probe`)."""

    __slots__ = ("args", "result")

    def __init__(self, args: bool, result: bool) -> None:
        self.args = args
        self.result = result

    def __repr__(self) -> str:
        return f"Leaks(args={self.args}, result={self.result})"


@functools.cache
def probe() -> Leaks:
    """Calls one Python function once through a throwaway environment and counts references."""
    seen: list[Any] = []
    sentinel = "".join(["celgate", "-probe"])  # a fresh, uninterned string

    def f(text: str) -> Any:
        seen.append(text)
        return sentinel

    before = sys.getrefcount(sentinel)
    decl = cel.FunctionDecl(
        "celgate_probe",
        [cel.Overload("celgate_probe_s", cel.Type.STRING, [cel.Type.STRING], is_member=True, impl=f)],
    )
    env = cel.NewEnv(
        descriptor_pool.Default(),
        variables={"t": cel.Type.STRING},
        extensions=[cel.CelExtension("celgate_probe", [decl])],
    )
    env.compile("t.celgate_probe() == t.celgate_probe()").eval(env.Activation({"t": "probe"}))
    # Each call made a fresh argument string; it should now be held by `seen` alone (plus
    # getrefcount's own argument). A leaked tuple keeps one more reference to it.
    args_leak = any(sys.getrefcount(s) > 2 for s in seen)
    result_leak = sys.getrefcount(sentinel) > before
    if result_leak:  # give back what the probe leaked on its own object (its two tuples stay)
        for _ in range(sys.getrefcount(sentinel) - before):
            _decref(id(sentinel))
    return Leaks(args=args_leak, result=result_leak)


_adapters: list[Any] = []  # the types and thunks must outlive every environment using them


def adapt(name: str, impl: Callable[..., Any], leaks: Leaks | None = None) -> Callable[..., Any]:
    """The callable to register with the binding for `impl` (itself when the binding is sound)."""
    leaks = probe() if leaks is None else leaks
    if not leaks.args and not leaks.result:
        return impl
    release_args, borrowed_result = leaks.args, leaks.result
    thread = _thread

    def tp_call(_self: int, args: tuple[Any, ...], _kwargs: int) -> int | None:
        if release_args:
            _decref(id(args))  # ctypes still holds its own reference until we return
        try:
            result = impl(*args)
        except BaseException as exc:  # handed back by settle()
            if thread.failure is None:
                thread.failure = exc
            return None  # NULL without an exception: the binding reports a CEL error value
        thread.kept.append(result)
        if not borrowed_result:
            _incref(id(result))
        return id(result)

    thunk = _TERNARYFUNC(tp_call)
    slots = (_Slot * 2)(_Slot(_Py_tp_call, ctypes.cast(thunk, ctypes.c_void_p).value), _Slot(0, None))
    spec = _Spec(f"celgate.cel_function.{name}".encode(), 0, 0, _Py_TPFLAGS_DEFAULT, slots)
    kind = _type_from_spec(ctypes.byref(spec))
    _adapters.append((thunk, slots, spec, kind))
    return kind()  # type: ignore[no-any-return]


def settle() -> BaseException | None:
    """After an evaluation on this thread: drops the results kept for the binding and returns the
    first exception a function raised during it, if any."""
    thread = _thread
    if thread.kept:
        thread.kept = []
    failure = thread.failure
    if failure is not None:
        thread.failure = None
    return failure

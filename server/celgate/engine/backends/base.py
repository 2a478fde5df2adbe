"""The interface every CEL backend implements, and the values crossing it."""

from __future__ import annotations

import datetime
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from celgate.v1 import decision_pb2 as pb


class Kind(Enum):
    """What an expression must return."""

    BOOL = "bool"
    STRING = "string"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One overload of a function, in backend-neutral terms.

    `params` and `returns` use a closed set of kinds: string, int, double, bool, list_string,
    findings (detectors), dyn (any value, e.g. `tool.args.to`) and sources (provenance). Member
    functions (`text.pii()`) take their receiver as the first parameter; `member=False` declares
    a global one (`provenance(tool.args.to)`). `pure`: the result depends on the arguments alone
    (not on a session, a clock or a store), so backends may keep it across decisions
    (`scope.ResultCache`); provenance functions read the session and are not pure.
    """

    name: str
    overload_id: str
    params: tuple[str, ...]
    returns: str
    impl: Callable[..., Any]
    pure: bool = False
    member: bool = True


class CelCompileError(Exception):
    """Compile problems as (line, column, message) inside the expression, 1-based."""

    def __init__(self, problems: list[tuple[int, int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{line}:{col}: {msg}" for line, col, msg in problems))


class EvalError:
    """A run-time error, returned as a value (CEL's own model), never raised."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"EvalError({self.message!r})"


# The C++ runtime stops an expression after this many comprehension iterations (all loops of one
# evaluation together); a backend reports hitting it with this message, so the compile-time probe
# (engine.budget) can tell "too expensive" from an ordinary run-time error.
ITERATION_BUDGET = 10_000
BUDGET_EXCEEDED = f"evaluation budget exceeded: more than {ITERATION_BUDGET:,} loop iterations in one expression"


# The variables a policy can use and the proto type behind each.
MESSAGE_VARIABLES: dict[str, str] = {
    "principal": "celgate.v1.Principal",
    "model": "celgate.v1.Model",
    "response": "celgate.v1.Message",
    "tool": "celgate.v1.ToolCall",
    "session": "celgate.v1.Session",
    "document": "celgate.v1.Document",
}
LIST_VARIABLES: dict[str, str] = {
    "messages": "celgate.v1.Message",
    "documents": "celgate.v1.Document",
    "tools": "celgate.v1.ToolCall",
}
VARIABLE_NAMES: frozenset[str] = frozenset(
    {"action", "context", "data", "vars", "now", *MESSAGE_VARIABLES, *LIST_VARIABLES}
)

EMPTY_DOCUMENT = pb.Document()


class Backend(ABC):
    name: str
    supports_fusion: bool = False  # can compile `cel.bind` (see engine.fusion)
    # Takes `data` as a plain dict per request, so keyed maps can be cut per request (see
    # engine.datapaths). The Python backend converts data once and stays the unpruned oracle.
    per_request_data: bool = False
    # Type-checks with cel-expr-python and stops at ITERATION_BUDGET like the C++ runtime (so the
    # compile-time budget probe applies and the engine's normal deadline holds).
    type_checked: bool = False

    @abstractmethod
    def compile(self, source: str, kind: Kind) -> Any:
        """Compiles (and where the backend can, type-checks) one expression."""

    @abstractmethod
    def prepare_data(self, data: Mapping[str, Any]) -> Any:
        """Converts the bundle's data once, so requests do not pay for it."""

    @abstractmethod
    def bindings(
        self, request: pb.CheckRequest, names: frozenset[str], data: Any, now: datetime.datetime
    ) -> dict[str, Any]:
        """The request's variables, limited to `names` (the ones the policies use)."""

    @abstractmethod
    def convert_document(self, document: pb.Document) -> Any:
        """A document ready to be bound as `document`."""

    def variables(self, values: dict[str, Any]) -> Any:
        """The policy's evaluated variables, ready to be bound as `vars`."""
        return values

    @abstractmethod
    def activation(self, bindings: dict[str, Any]) -> Any:
        """An activation to evaluate many expressions against."""

    @abstractmethod
    def evaluate(self, program: Any, activation: Any) -> Any:
        """The expression's value as a Python value, or an `EvalError`."""

"""Errors the engine raises.

Policy authors need every mistake of a run at once, each pointing at a file, line and column, so
compile problems are collected as `PolicyError` values and raised together in one
`PolicyLoadError`. Callers of `Engine.check` get one exception type, `InvalidRequest`, that names
the offending field, so every door can turn it into a 4xx / INVALID_ARGUMENT the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One problem in a policy repository, located as precisely as the source allows."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


class PolicyLoadError(Exception):
    """A policy repository that cannot be compiled; carries every error found."""

    def __init__(self, errors: list[PolicyError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors) or "policy load failed")


class InvalidRequest(ValueError):
    """A check request that does not fit the schema; `field` names where it went wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

"""What every policy source shares: the snapshot it yields and the embedded default library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from celgate.policies import default_policies


class SourceError(Exception):
    """The newest revision cannot be used; the message says why (shown in /v1/status)."""

    def __init__(self, message: str, revision: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.revision = revision


@dataclass(frozen=True)
class Snapshot:
    """A policy repository on disk; `revision` None lets the engine stamp its content digest."""

    path: Path
    revision: str | None
    key: str


class Source(Protocol):
    description: str  # shown in /v1/status and logs: no credentials, no local path
    interval: float

    def poll(self) -> Snapshot | None: ...

    def close(self) -> None: ...


def default_policies_dir() -> Path:
    """The shipped library (see `celgate.policies`)."""
    return default_policies()

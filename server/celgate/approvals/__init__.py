"""Human approvals: what `require_approval` holds, who decided it, and the one retry it lets through.

`open_store(url)` picks the store (`celgate serve --approval-store`): a path or `sqlite:PATH`
(default `$XDG_STATE_HOME/celgate/approvals.db`, i.e. `~/.local/state/celgate/approvals.db`), or
`redis://HOST:PORT/DB` when replicas share. `Approvals` is what the engine and the approver doors
are handed: the store plus the expiry and the hook that announces a new pending approval (the
webhook). Which request may go on is decided in the engine, never here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from celgate.approvals.base import ApprovalStore
from celgate.approvals.model import (
    APPROVED,
    DEFAULT_TTL_SECONDS,
    DENIED,
    EXPIRED,
    PENDING,
    STATES,
    USED,
    Approval,
    ApprovalError,
    Conflict,
    HoldReason,
    NotFound,
    StoreError,
    fingerprint,
)

__all__ = [
    "APPROVED",
    "DEFAULT_TTL_SECONDS",
    "DENIED",
    "EXPIRED",
    "PENDING",
    "STATES",
    "USED",
    "Approval",
    "ApprovalError",
    "ApprovalStore",
    "Approvals",
    "Conflict",
    "HoldReason",
    "NotFound",
    "StoreError",
    "default_path",
    "fingerprint",
    "new_id",
    "open_store",
]


def default_path() -> Path:
    """Where approvals live unless configured: `$XDG_STATE_HOME/celgate/approvals.db`."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "celgate" / "approvals.db"


def open_store(url: str = "") -> ApprovalStore:
    """`""` (the default file), a path, `sqlite:PATH`, or `redis://HOST:PORT/DB`. Raises StoreError."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from celgate.approvals.redis import RedisStore

        return RedisStore(url)
    from celgate.approvals.sqlite import SQLiteStore

    if url.startswith("sqlite://"):
        url = url[len("sqlite://") :]
    elif url.startswith("sqlite:"):
        url = url[len("sqlite:") :]
    return SQLiteStore(url or default_path())


def new_id() -> str:
    return "apr_" + uuid.uuid4().hex


class Approvals:
    """The store with its settings; thread-safe as far as the store is (both shipped stores are)."""

    def __init__(
        self,
        store: ApprovalStore,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        on_created: Callable[[Approval], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not ttl_seconds > 0:
            raise ValueError("approval ttl must be a positive number of seconds")
        self.store = store
        self.ttl_seconds = float(ttl_seconds)
        self.on_created = on_created
        self.clock = clock

    def create(self, approval: Approval) -> None:
        """Stores a new pending approval, then announces it (the hook must not block)."""
        self.store.create(approval)
        if self.on_created is not None:
            self.on_created(approval)

    def get(self, approval_id: str) -> Approval | None:
        return self.store.get(approval_id, self.clock())

    def require(self, approval_id: str) -> Approval:
        approval = self.get(approval_id)
        if approval is None:
            raise NotFound(approval_id)
        return approval

    def list(self, *, state: str = "", principal: str = "", tool: str = "", limit: int = 100) -> list[Approval]:
        if state and state not in STATES:
            raise ApprovalError(f"state {state!r}: expected one of {', '.join(STATES)}")
        return self.store.list(self.clock(), state=state, principal=principal, tool=tool, limit=limit)

    def decide(self, approval_id: str, approve: bool, by: str, reason: str) -> Approval:
        return self.store.decide(approval_id, approve, by, reason, self.clock(), self.ttl_seconds)

    def use(self, approval_id: str) -> tuple[bool, Approval | None]:
        return self.store.use(approval_id, self.clock())

    def count_pending(self) -> int:
        return self.store.count_pending(self.clock())

    def close(self) -> None:
        self.store.close()

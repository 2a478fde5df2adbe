"""The state decisions share, one store per kind, passed in — never a module global.

A `Stores` is built once per process from the service configuration (`service.stores.open_stores`)
and handed to the `Decider`, which passes it to `Engine.check` on every call; the embedded API
(`celgate.load`) gives each engine an in-memory `Stores()` of its own. Each store has one small
interface with an in-process default (nothing to start) and a Redis implementation for replicas
that must share. A store lives as long as the process, not a policy revision: a reload never
resets anyone's budget.

Adding a store (sessions, approvals): add a field here with an in-memory default, open it in
`service.stores.open_stores`, and read it where the Decider or the engine needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from celgate.approvals import Approvals
from celgate.quotas import MemoryStore, QuotaStore
from celgate.sessions.store import MemorySessionStore, SessionStore


@dataclass(frozen=True)
class Stores:
    quotas: QuotaStore = field(default_factory=MemoryStore)
    # None (the embedded default): a require_approval's id names nothing. The service always opens
    # one (SQLite file or Redis) so approvals survive restarts and can be decided.
    approvals: Approvals | None = None
    sessions: SessionStore = field(default_factory=MemorySessionStore)

    @property
    def remote(self) -> bool:
        """Whether deciding may wait on the network (a Redis store): doors then decide off their event loop."""
        return bool(getattr(self.quotas, "remote", False))

    def close(self) -> None:
        """Releases connections (Redis) and files (SQLite); in-memory stores have nothing to release."""
        self.quotas.close()
        if self.approvals is not None:
            self.approvals.close()
        self.sessions.close()

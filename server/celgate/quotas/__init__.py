"""Quota stores. `open_store("memory")` or `open_store("redis://host:6379/0")`.

Stores are passed in (see `celgate.stores.Stores`); there is no process-wide default.
"""

from __future__ import annotations

from celgate.quotas.base import Charge, Outcome, QuotaStore, QuotaStoreError
from celgate.quotas.memory import MemoryStore

__all__ = ["Charge", "MemoryStore", "Outcome", "QuotaStore", "QuotaStoreError", "open_store"]


def open_store(url: str, *, breaker_path: str | None = None) -> QuotaStore:
    """`breaker_path`: a file the workers of one server share their Redis circuit breaker through."""
    if url in ("", "memory", "memory://"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from celgate.quotas.redis import RedisStore

        return RedisStore(url, breaker_path=breaker_path)
    raise ValueError(f"unknown quota store {url!r}; expected 'memory' or 'redis://host:port/db'")

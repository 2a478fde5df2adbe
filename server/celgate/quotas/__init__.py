"""Quota stores. `open_store("memory")` or `open_store("redis://host:6379/0")`."""

from __future__ import annotations

from celgate.quotas.base import Charge, Outcome, QuotaStore, QuotaStoreError
from celgate.quotas.memory import MemoryStore

__all__ = ["Charge", "MemoryStore", "Outcome", "QuotaStore", "QuotaStoreError", "default_store", "open_store"]

_default: QuotaStore | None = None


def open_store(url: str) -> QuotaStore:
    if url in ("", "memory", "memory://"):
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from celgate.quotas.redis import RedisStore

        return RedisStore(url)
    raise ValueError(f"unknown quota store {url!r}; expected 'memory' or 'redis://host:port/db'")


def set_default_store(store: QuotaStore) -> None:
    """The process-wide store engines use unless given one (set once by `celgate serve`)."""
    global _default
    _default = store


def default_store() -> QuotaStore:
    global _default
    if _default is None:
        _default = MemoryStore()
    return _default

"""Chooses the process's stores from the service configuration: the one place they are opened."""

from __future__ import annotations

from celgate import quotas
from celgate.approvals import Approvals, StoreError, open_store
from celgate.approvals.webhook import Webhook
from celgate.config import ServeConfig
from celgate.sessions.store import Limits, open_session_store
from celgate.stores import Stores


def open_approvals(config: ServeConfig) -> Approvals:
    """The approval store, checked writable (raises StoreError: refuse to start rather than lose
    approvals), with the webhook announcing each new pending approval when one is configured."""
    store = open_store(config.approval_store)
    try:
        store.check_writable()
    except StoreError:
        store.close()
        raise
    webhook = Webhook(config.approval_webhook, inbox_url=config.public_url) if config.approval_webhook else None
    return Approvals(store, ttl_seconds=config.approval_ttl, on_created=webhook.notify if webhook else None)


def open_stores(config: ServeConfig, *, breaker_path: str | None = None) -> Stores:
    """Raises `celgate.approvals.StoreError` when the approval store cannot be opened and written.
    `breaker_path`: the file the workers of one server share the Redis quota store's breaker through."""
    limits = Limits(
        ttl_seconds=config.session_ttl,
        max_entries=config.session_max_turns,
        max_memory_bytes=config.session_max_memory,
    )
    sessions = open_session_store(config.session_store, limits)
    sessions.fail_open = config.session_on_error == "open"
    quota_store = quotas.open_store(config.quota_store, breaker_path=breaker_path)
    return Stores(quotas=quota_store, approvals=open_approvals(config), sessions=sessions)

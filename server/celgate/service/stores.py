"""Chooses the process's stores from the service configuration: the one place they are opened."""

from __future__ import annotations

from celgate import quotas
from celgate.config import ServeConfig
from celgate.stores import Stores


def open_stores(config: ServeConfig) -> Stores:
    return Stores(quotas=quotas.open_store(config.quota_store))

"""The approver's doors (HTTP `/v1/approvals`, gRPC `celgate.v1.ApprovalService`) share this: who may
decide an approval, and what is recorded when they do."""

from __future__ import annotations

import logging

from celgate import metrics
from celgate.approvals import Approvals, StoreError

log = logging.getLogger("celgate.approvals")


def count_pending(approvals: Approvals) -> None:
    """Sets the pending gauge from the store (at each scrape: every replica reads the same store)."""
    try:
        metrics.approvals_pending(approvals.count_pending())
    except StoreError as e:
        log.warning("cannot count pending approvals: %s", e)

"""Announces each new pending approval to a URL (Slack-compatible), off the decision's path.

`Webhook.notify(approval)` only puts the approval on a bounded queue; one background thread POSTs
`{"text": "...", "approval": {...}}` (Slack incoming webhooks read `text`, anything else can read
`approval`) and retries a failed POST a bounded number of times with backoff. A full queue drops
the announcement and counts it: a slow or dead receiver never holds up a decision.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson

from celgate.approvals.model import Approval

log = logging.getLogger("celgate.approvals.webhook")
_STOP = object()


def message(approval: Approval, inbox_url: str = "") -> str:
    what = f"{approval.action} {approval.tool}".strip()
    why = "; ".join(r.message or f"{r.policy}/{r.rule}" for r in approval.reasons) or "a policy asked for approval"
    link = f" — {inbox_url.rstrip('/')}/ui/approvals#{approval.id}" if inbox_url else ""
    return f"Approval needed: {what} by {approval.principal or 'unknown'} ({why}). Id {approval.id}{link}"


class Webhook:
    def __init__(
        self,
        url: str,
        *,
        inbox_url: str = "",
        attempts: int = 3,
        timeout_seconds: float = 5.0,
        backoff_seconds: float = 0.5,
        queue_size: int = 1000,
        post: Callable[[str, dict[str, Any], float], int] | None = None,
    ) -> None:
        self.url = url
        self.inbox_url = inbox_url
        self.attempts = max(1, attempts)
        self.timeout = timeout_seconds
        self.backoff = backoff_seconds
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._post = post or _urllib_post
        self._thread = threading.Thread(target=self._run, name="celgate-approval-webhook", daemon=True)
        self._thread.start()

    def notify(self, approval: Approval) -> None:
        """Never blocks: a full queue drops the announcement (counted in `dropped`)."""
        try:
            self._queue.put_nowait(approval)
        except queue.Full:
            self.dropped += 1
            log.warning("approval webhook queue full: announcement of %s dropped", approval.id)

    def payload(self, approval: Approval) -> dict[str, Any]:
        return {"text": message(approval, self.inbox_url), "approval": approval.to_dict()}

    def _send(self, approval: Approval) -> None:
        body = self.payload(approval)
        for attempt in range(1, self.attempts + 1):
            try:
                status = self._post(self.url, body, self.timeout)
                if 200 <= status < 300:
                    self.delivered += 1
                    return
                error = f"HTTP {status}"
            except Exception as e:  # any failure of the receiver is retried, then logged
                error = type(e).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        self.failed += 1
        log.warning("approval webhook gave up on %s after %d attempts: %s", approval.id, self.attempts, error)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._send(item)

    def close(self, timeout: float = 5.0) -> None:
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)


def _urllib_post(url: str, body: dict[str, Any], timeout: float) -> int:
    """POSTs JSON with the standard library (no client dependency for one request a minute)."""
    request = urllib.request.Request(
        url, data=orjson.dumps(body), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)

"""Shared by the approvals end-to-end tests: a service config with an agent and an approver, and a
small HTTP caller that sends their keys."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Celgate

AGENT_KEY = "cg_agent_0123456789abcdef"
BOB_KEY = "cg_bob_approver_abcdef0123456789"


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def auth_config(path: Path, **extra: Any) -> Path:
    """A service config with an agent (decides) and an approver (bob), keys stored as hashes."""
    config = {
        "auth": {
            "callers": [
                {"id": "agent", "key_sha256": _sha(AGENT_KEY)},
                {"id": "bob", "key_sha256": _sha(BOB_KEY), "roles": ["approver"]},
            ]
        },
        **extra,
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def call(cg: Celgate, method: str, path: str, body: Any = None, key: str = AGENT_KEY) -> tuple[int, Any]:
    req = urllib.request.Request(
        cg.http_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

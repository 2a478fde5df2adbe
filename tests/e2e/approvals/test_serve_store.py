"""`celgate serve` and its approval store: refuses to start on a store it cannot write, and keeps
pending approvals across a restart (the default SQLite file)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Celgate, free_port
from tests.unit.approvals.policies import transfer, write_repo

pytestmark = pytest.mark.e2e


def _post(cg: Celgate, path: str, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        cg.http_url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_unwritable_store_refuses_to_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for workers in ("1", "2"):
        proc = subprocess.run(
            [
                sys.executable, "-m", "celgate.cli", "serve", "--workers", workers,
                "--http-addr", f"127.0.0.1:{free_port()}", "--grpc-addr", f"127.0.0.1:{free_port()}",
                "--policies", str(write_repo(tmp_path / "p")), "--approval-store", str(blocker / "approvals.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "cannot start" in proc.stderr and "approval store" in proc.stderr and "not-a-dir" in proc.stderr


def test_pending_approval_survives_restart(start_celgate: Callable[..., Celgate], tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "p")
    workdir = tmp_path / "work"
    workdir.mkdir()
    cg = start_celgate(repo, workdir=workdir)
    status, decision = _post(cg, "/v1/check", transfer())
    assert status == 200 and decision["effect"] == "require_approval", decision
    approval_id = decision["approval_id"]
    assert cg.stop() == 0
    db = workdir / "state" / "celgate" / "approvals.db"  # the documented default, under XDG_STATE_HOME
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state FROM approvals WHERE id = ?", (approval_id,)).fetchone() == ("pending",)
    cg2 = start_celgate(repo, workdir=workdir)
    status, again = _post(cg2, "/v1/check", {**transfer(), "approval_id": approval_id})
    assert status == 200 and again["effect"] == "require_approval" and "still pending" in again["message"]

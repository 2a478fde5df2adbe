"""SQLite approval store: one file, nothing to start, shared safely by the workers of one host.

WAL journal and a busy timeout let several worker processes read and write the same file; each
transition is one `UPDATE ... WHERE id = ? AND state = ? AND expires_at > ?`, atomic under SQLite's
write lock, so racing approvers or retries see exactly one winner. Not for replicas on different
hosts (use Redis): SQLite over a network file system does not lock reliably.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson

from celgate.approvals.base import ApprovalStore
from celgate.approvals.model import (
    APPROVED,
    EXPIRED,
    PENDING,
    RETENTION_SECONDS,
    Approval,
    StoreError,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  principal TEXT NOT NULL,
  tool TEXT NOT NULL,
  created_at REAL NOT NULL,
  expires_at REAL NOT NULL,
  record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals (created_at);
-- create() drops approvals past retention by expires_at: without this index every create scanned
-- the whole table (9.2 ms at 22,500 approvals, 0.006 ms with it).
CREATE INDEX IF NOT EXISTS approvals_expires ON approvals (expires_at);
CREATE TABLE IF NOT EXISTS celgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SQLiteStore(ApprovalStore):
    """`SQLiteStore("/var/lib/celgate/approvals.db")`; creates the file and its directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._db()
            db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"approval store {self.path}: {e}") from None

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db().execute(sql, args)
        except sqlite3.Error as e:
            raise StoreError(f"approval store {self.path}: {e}") from None

    def check_writable(self) -> None:
        try:  # a real write: opening alone succeeds on a read-only file
            self._db().execute("INSERT OR REPLACE INTO celgate_meta VALUES ('checked_at', datetime('now'))")
        except sqlite3.Error as e:
            raise StoreError(f"approval store {self.path} is not writable: {e}") from None

    def create(self, approval: Approval) -> None:
        self._run(
            "INSERT INTO approvals (id, state, principal, tool, created_at, expires_at, record) VALUES (?,?,?,?,?,?,?)",
            (
                approval.id,
                approval.state,
                approval.principal,
                approval.tool,
                approval.created_at,
                approval.expires_at,
                orjson.dumps(approval.to_record()),
            ),
        )
        # Old records go when new ones come: bounded without a sweeper thread.
        self._run("DELETE FROM approvals WHERE expires_at < ?", (approval.created_at - RETENTION_SECONDS,))

    def _load(self, row: tuple[Any, ...]) -> Approval:
        return Approval.from_record(orjson.loads(row[0]))

    def get(self, approval_id: str, now: float) -> Approval | None:
        row = self._run("SELECT record FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return self._load(row).current(now) if row else None

    def list(
        self, now: float, *, state: str = "", principal: str = "", tool: str = "", limit: int = 100
    ) -> list[Approval]:
        where, args = [], []
        if state == EXPIRED:
            where.append("(state = ? OR (state IN (?, ?) AND expires_at <= ?))")
            args += [EXPIRED, PENDING, APPROVED, now]
        elif state in (PENDING, APPROVED):
            where.append("state = ? AND expires_at > ?")
            args += [state, now]
        elif state:
            where.append("state = ?")
            args.append(state)
        if principal:
            where.append("principal = ?")
            args.append(principal)
        if tool:
            where.append("tool = ?")
            args.append(tool)
        sql = "SELECT record FROM approvals"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC LIMIT ?"
        rows = self._run(sql, (*args, int(limit))).fetchall()
        return [self._load(r).current(now) for r in rows]

    def _transition(self, approval_id: str, from_state: str, to: Approval, now: float) -> bool:
        cur = self._run(
            "UPDATE approvals SET state = ?, expires_at = ?, record = ? WHERE id = ? AND state = ? AND expires_at > ?",
            (to.state, to.expires_at, orjson.dumps(to.to_record()), approval_id, from_state, now),
        )
        return cur.rowcount == 1

    def count_pending(self, now: float) -> int:
        row = self._run("SELECT COUNT(*) FROM approvals WHERE state = ? AND expires_at > ?", (PENDING, now)).fetchone()
        return int(row[0])

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

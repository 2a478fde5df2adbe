"""Polls a policy source, compiles each new revision off to the side, tests it, then swaps it in.

A revision that does not compile, whose policy test suites fail, or that the source refuses
(unsigned commit, failed fetch) is never activated: the last good engine keeps serving, and
`PolicyState.last_error` (shown by /v1/status) says why, with file and line when there is one.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import celgate
from celgate.api.state import PolicyState
from celgate.engine import Engine, PolicyLoadError
from celgate.engine.testing import run_suites
from celgate.scrub import scrub_text
from celgate.sources import Snapshot, Source, SourceError

log = logging.getLogger("celgate.reloader")


def _error(message: str, *, file: str = "", line: int = 0, column: int = 0, **extra: Any) -> dict[str, Any]:
    return {"file": file, "line": line, "column": column, "message": message, **extra}


def run_policy_tests(engine: Engine) -> list[str]:
    """Failures of the bundle's own test suites, as messages; empty when they pass."""
    if not engine.bundle.suites:
        return []
    report = run_suites(engine)
    if report.ok:
        return []
    return [str(f) for f in report.failures] or ["policy tests failed"]


def _scrubbed(value: Any, roots: tuple[Path, ...]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, roots)
    if isinstance(value, dict):
        return {k: _scrubbed(v, roots) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v, roots) for v in value]
    return value


class Reloader:
    def __init__(self, source: Source, state: PolicyState, *, backend: str | None = None, run_tests: bool = True):
        self.source = source
        self.state = state
        self.backend = backend or None
        self.run_tests = run_tests
        self._stop = threading.Event()
        self._roots: tuple[Path, ...] = ()
        self._thread = threading.Thread(target=self._loop, name="celgate-reloader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.source.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as e:  # the poller must survive anything and keep the last good revision
                log.exception("policy reload failed")
                self._reject(_error(f"internal error while reloading ({type(e).__name__}); see the server log"))
            self._stop.wait(self.source.interval)

    def poll_once(self) -> bool:
        """One poll; True when a new revision was activated."""
        try:
            snapshot = self.source.poll()
        except SourceError as e:
            self._reject(_error(e.message, revision=e.revision or None))
            return False
        if snapshot is None:
            return False
        return self._try(snapshot)

    def _try(self, snapshot: Snapshot) -> bool:
        self._roots = (snapshot.path,)
        try:
            engine = celgate.load(snapshot.path, backend=self.backend, revision=snapshot.revision)
        except PolicyLoadError as e:
            first = e.errors[0].to_dict() if e.errors else {"message": str(e)}
            self._reject(
                _error(
                    str(first.get("message", "")),
                    file=str(first.get("file", "")),
                    line=int(first.get("line", 0) or 0),
                    column=int(first.get("column", 0) or 0),
                    revision=snapshot.revision,
                    errors=[x.to_dict() for x in e.errors],
                )
            )
            return False
        if self.run_tests:
            failures = run_policy_tests(engine)
            if failures:
                self._reject(
                    _error(f"policy tests failed: {failures[0]}", revision=engine.revision, failures=failures[:20])
                )
                return False
        previous = self.state.engine.revision if self.state.engine is not None else None
        self.state.activate(engine)
        log.info("activated policy revision %s (was %s) from %s", engine.revision, previous, self.source.description)
        return True

    def _reject(self, error: dict[str, Any]) -> None:
        # /v1/status shows this: files relative to the repository, URLs without credentials
        error = _scrubbed(error, self._roots)
        self.state.reject(error)
        where = f"{error['file']}:{error['line']}: " if error.get("file") else ""
        log.warning("policy revision not activated: %s%s", where, error["message"])

"""The security suite: every probe of issue #13 (fail closed, never stall, nothing leaks) as a test.

Probes about authentication (who may call at all) live with the auth code's tests.
"""

from __future__ import annotations

from tests.e2e.conftest import start_celgate
from tests.unit.engine.conftest import make_repo

__all__ = ["make_repo", "start_celgate"]

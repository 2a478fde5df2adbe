"""examples/agent/run.py against `make serve` (the shipped library), as its README says.

sdk/python/tests/test_sdk_example.py runs it on its own policies, over HTTP and gRPC.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

RUN = Path(__file__).resolve().parents[2] / "examples" / "agent" / "run.py"


def _run(*args: str) -> str:
    out = subprocess.run([sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_against_make_serve(start_celgate) -> None:  # type: ignore[no-untyped-def]
    cg = start_celgate()  # no --policies: the shipped library, as `make serve` runs it
    lines = _run("--url", cg.http_url).splitlines()
    assert lines[0] == "tool get_balance: balance 1200 EUR. Questions: billing@example.com"
    assert "llm01-prompt-injection/tool-result-injection" in lines[1] and "DENIED" in lines[1]
    assert "require_approval by llm06-excessive-agency/amount-needs-approval" in lines[2]
    assert lines[3] == "assistant: Your balance is 1200 EUR; questions go to [email]."
    assert lines[4] == "session labels: ['untrusted']"

"""examples/agent/run.py runs offline against a real celgate (it starts one, or uses ours)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import start_celgate

RUN = Path(__file__).resolve().parents[3] / "examples" / "agent" / "run.py"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_example_agent(tmp_path, transport):
    server = start_celgate(policies=RUN.parent / "policies", log_dir=tmp_path)
    try:
        out = subprocess.run(
            [sys.executable, str(RUN), "--url", server.url(transport)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "tool get_balance: balance 1200 EUR. Questions: [email]"
    assert lines[2].startswith("tool transfer_funds: DENIED") and "agent/no-transfer-after-web" in lines[2]
    assert lines[-1] == "session labels: ['untrusted']"


def test_example_agent_starts_its_own_celgate():
    out = subprocess.run([sys.executable, str(RUN)], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "DENIED" in out.stdout and "billing@example.com" not in out.stdout

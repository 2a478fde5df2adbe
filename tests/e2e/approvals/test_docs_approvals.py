"""docs/approvals.md runs as written: its policy, its curl walk-through (bash with curl and jq) and
its SDK example, against a real `celgate serve` configured like the page says. The Envoy example is
the flow of tests/e2e/envoy/test_envoy_approvals.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.approvals.helpers import AGENT_KEY, BOB_KEY, auth_config, call
from tests.e2e.conftest import REPO, Celgate
from tests.unit.approvals.policies import CONFIG

pytestmark = pytest.mark.e2e
DOC = (REPO / "docs" / "approvals.md").read_text()


def blocks(lang: str, section: str) -> list[str]:
    part = DOC.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", part, re.S)


@pytest.fixture
def served(start_celgate: Callable[..., Celgate], tmp_path: Path) -> Celgate:
    policy = next(b for b in blocks("yaml", "The loop with curl") if b.startswith("# policies/payments.yaml"))
    repo = tmp_path / "policies"
    repo.mkdir()
    (repo / "celgate.yaml").write_text(CONFIG)
    (repo / "payments.yaml").write_text(policy)
    return start_celgate(repo, ["--config", str(auth_config(tmp_path / "celgate.yaml"))])


def test_curl_walkthrough(served: Celgate, tmp_path: Path) -> None:
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (scripts/bootstrap --system)")
    script = "set -euo pipefail\n" + "\n".join(blocks("bash", "The loop with curl"))
    env = {**os.environ, "CELGATE": served.http_url, "AGENT_KEY": AGENT_KEY, "BOB_KEY": BOB_KEY}
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_sdk_example(served: Celgate, tmp_path: Path) -> None:
    (example,) = blocks("python", "The Python SDK")
    stop = threading.Event()

    def approver() -> None:  # bob approves what the example waits for
        while not stop.is_set():
            _, listed = call(served, "GET", "/v1/approvals?state=pending&principal=alice", key=BOB_KEY)
            for a in listed.get("approvals", []):
                call(served, "POST", f"/v1/approvals/{a['id']}/approve", {"reason": "ok"}, key=BOB_KEY)
            time.sleep(0.2)

    t = threading.Thread(target=approver, daemon=True)
    t.start()
    script = tmp_path / "example.py"
    script.write_text(example + "\nprint('done', done.allowed)\n")
    env = {**os.environ, "CELGATE": served.http_url, "AGENT_KEY": AGENT_KEY}
    try:
        run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=90)
    finally:
        stop.set()
        t.join(5)
    assert run.returncode == 0 and "done True" in run.stdout, run.stdout + run.stderr

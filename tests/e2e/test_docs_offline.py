"""`/docs` renders in a real browser with no network: Swagger UI's assets come from celgate itself.

Debian's chromium, headless, with every host name except 127.0.0.1 unresolvable — a page that
fetched its JavaScript from a CDN would stay blank. Under CI=true a missing chromium fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.e2e


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium not found: scripts/bootstrap --system installs it")
        pytest.skip("chromium not found (apt-get install chromium)")
    return path


def test_docs_render_offline(start_celgate, policy_repo) -> None:  # type: ignore[no-untyped-def]
    browser = _chromium()
    cg = start_celgate(policies=policy_repo)
    out = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # tests run as root
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline: no CDN can answer
            "--virtual-time-budget=15000",  # let the page's scripts fetch /openapi.json and render
            "--dump-dom",
            cg.http_url + "/docs",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    dom = out.stdout
    assert 'data-path="/v1/check"' in dom, (out.returncode, out.stderr[-2000:], dom[-2000:])
    assert 'data-path="/v1/check/batch"' in dom and 'class="title">celgate' in dom
    assert "cdn" not in dom.split('id="swagger-ui"')[0].lower()  # the page itself names no CDN

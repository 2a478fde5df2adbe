"""The approvals inbox in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): an approver enters their key, sees pending requests with the rules' messages and the
masked request, approves one and denies another with a reason, and sees the result at once. The
retry of the approved request then goes through, once. Saves docs/images/approvals-inbox.png when
CELGATE_SCREENSHOT is set (that is how the docs' picture is made)."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.approvals.helpers import AGENT_KEY, BOB_KEY, auth_config, call
from tests.e2e.conftest import REPO, Celgate
from tests.unit.approvals.policies import transfer, write_repo

pytestmark = pytest.mark.e2e


def _binaries() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chrome or not driver:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are not installed (scripts/bootstrap --system)")
        pytest.skip("chromium and chromium-driver are not installed (scripts/bootstrap --system)")
    return chrome, driver


@pytest.fixture
def browser() -> Iterator[Any]:
    chrome, driver = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(arg)
    # The driver is Debian's: Selenium Manager never downloads anything.
    b = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    b.set_page_load_timeout(30)
    yield b
    b.quit()


@pytest.fixture
def served(start_celgate: Callable[..., Celgate], tmp_path: Path) -> Celgate:
    return start_celgate(write_repo(tmp_path / "p"), ["--config", str(auth_config(tmp_path / "celgate.yaml"))])


def test_approver_decides_in_the_browser(served: Celgate, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    cg = served
    ids = []
    for amount, to in ((5000.0, "acct-42"), (2500.0, "acct-7")):
        status, decision = call(cg, "POST", "/v1/check", transfer(amount=amount, to=to))
        assert status == 200 and decision["effect"] == "require_approval", decision
        ids.append(decision["approval_id"])
    wait = WebDriverWait(browser, 20)
    browser.get(cg.http_url + "/ui/approvals")
    # Without a key the page says what to do (the API answered 401).
    wait.until(ec.text_to_be_present_in_element((By.ID, "list"), "Enter an approver token"))
    browser.find_element(By.ID, "token").send_keys(BOB_KEY)
    browser.find_element(By.ID, "use-token").click()
    for approval_id in ids:
        wait.until(ec.presence_of_element_located((By.ID, approval_id)))
    first = browser.find_element(By.ID, ids[0])
    text = first.text
    assert "transfer_funds for alice" in text and "transfer of 5000 needs a human" in text
    assert "payments/big-transfer" in text and "acct-42" in text
    assert "AKIAIOSFODNN7EXAMPLE" not in browser.page_source and "[aws_access_key_id]" in text
    if os.environ.get("CELGATE_SCREENSHOT"):
        browser.save_screenshot(str(REPO / "docs" / "images" / "approvals-inbox.png"))

    first.find_element(By.CSS_SELECTOR, "input.reason").send_keys("confirmed by phone")
    first.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait.until(lambda b: b.find_element(By.ID, ids[0]).find_element(By.CSS_SELECTOR, ".result").text == "Approved.")
    assert "Approved by bob: confirmed by phone" in browser.find_element(By.ID, ids[0]).text
    second = browser.find_element(By.ID, ids[1])
    second.find_element(By.CSS_SELECTOR, "input.reason").send_keys("unknown payee")
    second.find_element(By.CSS_SELECTOR, "button.deny").click()
    wait.until(lambda b: b.find_element(By.ID, ids[1]).find_element(By.CSS_SELECTOR, ".result").text == "Denied.")
    assert browser.find_element(By.ID, ids[1]).find_element(By.CSS_SELECTOR, ".state").text.lower() == "denied"

    status, ok = call(cg, "POST", "/v1/check", {**transfer(amount=5000.0, to="acct-42"), "approval_id": ids[0]})
    assert status == 200 and ok["effect"] == "allow", ok
    status, no = call(cg, "POST", "/v1/check", {**transfer(amount=2500.0, to="acct-7"), "approval_id": ids[1]})
    assert no["effect"] == "deny" and "denied by bob: unknown payee" in no["message"]

    # A second approver's stale page: deciding an already decided approval shows the 409's message.
    browser.find_element(By.ID, "state").send_keys("all")
    status, body = call(cg, "POST", f"/v1/approvals/{ids[0]}/deny", {"reason": "late"}, key=BOB_KEY)
    assert status == 409 and body["error"]["message"].startswith(f"approval {ids[0]} is used by bob")


def test_api_needs_an_approver(served: Celgate) -> None:
    cg = served
    _, decision = call(cg, "POST", "/v1/check", transfer())
    approval_id = decision["approval_id"]
    req = urllib.request.Request(cg.http_url + "/v1/approvals?state=pending")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 401
    status, body = call(cg, "GET", "/v1/approvals?state=pending", key=AGENT_KEY)
    assert status == 403 and "approver" in body["error"]["message"]
    status, body = call(cg, "GET", f"/v1/approvals/{approval_id}", key=BOB_KEY)
    assert status == 200 and body["state"] == "pending"
    status, body = call(cg, "GET", f"/v1/approvals/{approval_id}/status", key=AGENT_KEY)
    assert status == 200 and body == {
        "id": approval_id,
        "state": "pending",
        "expires_at": body["expires_at"],
        "decided_by": "",
        "reason": "",
    }
    page = urllib.request.urlopen(cg.http_url + "/ui/approvals", timeout=10)  # the page itself carries no data
    assert page.status == 200

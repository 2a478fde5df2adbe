"""Nothing private leaks: status and logs carry no local paths or URL credentials; the client is
never told an internal address."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from celgate.api.state import PolicyState
from celgate.scrub import scrub_text, scrub_url
from celgate.service.reloader import Reloader
from celgate.sources import open_source
from tests.unit.engine.conftest import policy

BROKEN = policy("broken", "[prompt]", "- name: r\n  effect: deny\n  when: messages.nope()\n")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://user:s3cr3t@git.example.com/org/repo.git", "s3cr3t"),
        ("https://git.example.com/org/repo.git?private_token=s3cr3t", "s3cr3t"),
        ("https://git.example.com/org/repo.git?a=1&access_token=s3cr3t#frag", "s3cr3t"),
        ("https://oauth2:s3cr3t@git.example.com/r.git?token=s3cr3t", "s3cr3t"),
    ],
)
def test_urls_lose_their_credentials(url: str, secret: str) -> None:
    clean = scrub_url(url)
    assert secret not in clean and "git.example.com" in clean
    assert secret not in scrub_text(f"fatal: unable to access '{url}': Could not resolve host")


def test_status_names_policy_files_without_local_paths(make_repo, caplog) -> None:
    repo = make_repo({"broken.yaml": BROKEN})
    source = open_source(str(repo))
    state = PolicyState(source.description)
    with caplog.at_level(logging.WARNING):
        Reloader(source, state, run_tests=False).poll_once()
    status = state.status()
    text = json.dumps(status)
    assert status["last_error"]["file"] == "broken.yaml", status
    assert status["last_error"]["line"] > 0
    assert str(repo) not in text and str(repo.parent) not in text, text
    assert "broken.yaml" in caplog.text and str(repo) not in caplog.text


def test_a_git_source_with_a_token_in_its_url_never_shows_it(tmp_path: Path, caplog) -> None:
    """A token in a git URL's query string reached /v1/status and the logs."""
    url = "git+https://user:pw-s3cr3t@127.0.0.1:9/org/repo.git?private_token=qs-s3cr3t#main"
    source = open_source(url, poll_interval=60, cache_dir=str(tmp_path / "cache"))
    state = PolicyState(source.description)
    with caplog.at_level(logging.WARNING):
        Reloader(source, state, run_tests=False).poll_once()  # the fetch fails: nothing listens on port 9
    source.close()
    text = json.dumps(state.status())
    assert state.status()["last_error"] is not None
    for leak in ("pw-s3cr3t", "qs-s3cr3t", str(tmp_path)):
        assert leak not in text, text
        assert leak not in caplog.text
    assert "127.0.0.1" in state.status()["source"]  # enough to act on: the host and repository


def test_readyz_tells_a_probe_only_ready_or_not(make_repo) -> None:
    """/readyz is open to unauthenticated probes and returned the whole status: the policy source
    and why the newest revision was rejected (file, line, message, revision). It now says ready or
    not; the rest stays on /v1/status, behind rights."""
    from starlette.testclient import TestClient

    from celgate.api.decide import Decider
    from celgate.api.http_app import create_app
    from celgate.auth import Authenticator, AuthSettings

    repo = make_repo({"broken.yaml": BROKEN})
    source = open_source(str(repo))
    state = PolicyState(source.description)
    Reloader(source, state, run_tests=False).poll_once()
    assert state.status()["last_error"] is not None
    closed = Authenticator(AuthSettings.from_dict({}), allow_anonymous=False)  # no caller may read status
    with TestClient(create_app(Decider(state), state, authenticator=closed)) as client:
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json() == {"ready": False}
        assert client.get("/v1/status").status_code == 401
        (repo / "broken.yaml").unlink()
        Reloader(source, state, run_tests=False).poll_once()
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True}
        state.drain()
        assert client.get("/readyz").json() == {"ready": False, "draining": True}

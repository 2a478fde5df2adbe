"""The decision log: keyed hashes of content and identifiers, redaction of every finding type in
`redacted` mode, and a clear start-up error (not a crash loop) for a path that cannot be written."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import celgate
from celgate import audit
from celgate.api.decide import Decider

POLICIES = Path(__file__).resolve().parents[2] / "policies"
KEY = b"a deployment's own decision log key"


@pytest.fixture(scope="module")
def engine() -> celgate.Engine:
    return celgate.load(POLICIES)


def _logged(engine: celgate.Engine, tmp_path: Path, requests: list[dict], *, content: str = "hash") -> list[dict]:
    path = tmp_path / "d.log"
    log = audit.open_log(str(path), content=content, key=KEY)
    decider = Decider(engine, log=log)
    for request in requests:
        decider.decide(request, "http")
    assert log is not None
    log.close()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_content_is_hashed_with_the_deployment_key(engine, tmp_path: Path) -> None:
    """An unsalted sha256 of a card-only prompt could be found by hashing candidate numbers."""
    card = "4111 1111 1111 1111"
    (entry,) = _logged(engine, tmp_path, [{"action": "prompt", "messages": [{"role": "user", "content": card}]}])
    text = json.dumps(entry)
    assert hashlib.sha256(card.encode()).hexdigest() not in text
    assert entry["content"] == {"length": len(card), "hmac_sha256": audit.Hasher(KEY).content(card)}
    other = audit.Hasher(b"another deployment's key").content(card)
    assert other != entry["content"]["hmac_sha256"]  # per deployment


def test_identifiers_that_can_carry_secrets_are_hashed(engine, tmp_path: Path) -> None:
    """A key placed in principal.id appeared raw in the log."""
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    request = {
        "action": "tool_call",
        "principal": {"id": secret, "tenant": "tenant-" + secret},
        "tool": {"name": secret, "args": {}},
        "request_id": "req-" + secret,
    }
    plain = {"action": "tool_call", "principal": {"id": "u1"}, "tool": {"name": "search_docs"}}
    first, second = _logged(engine, tmp_path, [request, plain])
    assert secret not in json.dumps(first)
    hasher = audit.Hasher(KEY)
    assert first["principal"] == {"id": hasher.ident(secret), "tenant": hasher.ident("tenant-" + secret)}
    assert first["request_id"] == hasher.ident("req-" + secret) and first["tool"] == hasher.ident(secret)
    assert second["tool"] == "search_docs"  # an ordinary tool name stays readable


def test_redacted_mode_masks_every_finding_type(engine, tmp_path: Path) -> None:
    """An e-mail address the shipped policies only audit appeared raw in `redacted` mode."""
    reply = "card 4111 1111 1111 1111, write to bob@example.com or call +1 415 555 0100"
    request = {"action": "response", "principal": {"id": "u"}, "response": {"role": "assistant", "content": reply}}
    (entry,) = _logged(engine, tmp_path, [request], content="redacted")
    logged = entry["rewritten"]["response.content"]
    for raw in ("4111", "bob@example.com", "555 0100"):
        assert raw not in logged, logged
    assert "[credit_card]" in logged and "[email]" in logged


def test_a_card_followed_by_more_digits_is_redacted(engine) -> None:
    reply = "your card 4111 1111 1111 1111 4111 is on file"
    d = engine.check({"action": "response", "response": {"role": "assistant", "content": reply}})
    assert "4111 1111 1111 1111" not in d.rewritten.get("response.content", reply), d.rewritten


def test_an_unwritable_decision_log_is_a_clear_start_up_error(start_celgate, tmp_path: Path) -> None:
    """Was: every worker crashed on the open and the supervisor restarted them in a loop."""
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    target = locked / "sub" / "decisions.log"
    if os.access(locked, os.W_OK):  # root ignores directory modes: use a path under a regular file
        target = tmp_path / "a-file" / "decisions.log"
        (tmp_path / "a-file").write_text("")
    cg = start_celgate(workers=2, extra_args=["--decision-log", str(target)], wait=False)
    assert cg.proc.wait(60) != 0
    err = cg.stderr()
    assert "decision log" in err and "cannot be written" in err, err
    assert err.count("cannot start") <= 2  # each of the two workers once: no restart loop
    assert "restarting" not in err

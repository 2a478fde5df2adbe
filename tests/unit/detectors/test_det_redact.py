from __future__ import annotations

import pytest

from celgate.detectors import Finding, build


def test_type_template(suite) -> None:
    text = "mail bob@example.com key AKIAIOSFODNN7EXAMPLE"
    out, spans = suite.redact(text, suite.find(text, ["pii", "secrets"]))
    assert out == "mail [email] key [aws_access_key_id]"
    assert [(s.type, text[s.start : s.end]) for s in spans] == [
        ("email", "bob@example.com"),
        ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    ]


def test_fixed_mask(suite) -> None:
    text = "ssn 123-45-6789"
    assert suite.redact(text, suite.find(text, ["pii.us_ssn"]), "****")[0] == "ssn ****"


def test_hash_stable_per_tenant(suite) -> None:
    text = "a bob@example.com b bob@example.com c alice@example.com"
    fs = suite.find(text, ["pii.email"])
    out, _ = suite.redact(text, fs, "{hash}", tenant="acme")
    toks = out.split()
    assert toks[1] == toks[3] != toks[5]
    assert toks[1].startswith("[email:") and len(toks[1]) == len("[email:12345678]")
    other, _ = suite.redact(text, fs, "{hash}", tenant="globex")
    assert other.split()[1] != toks[1]
    # another suite with the same key gives the same token (stable across workers)
    again = build({"redaction": {"hash_key": "test-key-0123456789abcdef"}})
    assert again.redact(text, fs, "{hash}", tenant="acme")[0] == out


def test_merge_overlapping_highest_score_wins(suite) -> None:
    text = "0123456789"
    fs = [Finding("phone", 0, 6, 0.6), Finding("credit_card", 4, 8, 0.95), Finding("email", 8, 10, 0.9)]
    out, spans = suite.redact(text, fs)
    assert out == "[credit_card][email]"
    assert spans == [Finding("credit_card", 0, 8, 0.95), Finding("email", 8, 10, 0.9)]


def test_offsets_code_points(suite) -> None:
    text = "😀😀 bob@example.com ✓"
    out, _ = suite.redact(text, suite.find(text, ["pii"]))
    assert out == "😀😀 [email] ✓"


@pytest.mark.parametrize("bad", ["{nope}", "{type", "x{", "}", "a" * 500])
def test_bad_templates(suite, bad: str) -> None:
    with pytest.raises(ValueError):
        suite.validate_replacement(bad)


def test_bad_spans(suite) -> None:
    with pytest.raises(ValueError, match="outside"):
        suite.redact("abc", [Finding("email", 2, 9, 1.0)])


def test_selectors(suite) -> None:
    for ok in ["pii", "pii.email", "secrets", "secrets.jwt", "custom", "custom.employee_id", "html.script"]:
        suite.validate_selector(ok)
    with pytest.raises(ValueError, match=r"unknown detector selector 'pii\.emial'; known: "):
        suite.validate_selector("pii.emial")
    with pytest.raises(ValueError):
        suite.find("x", ["nope"])

"""The PII and secrets fast paths find exactly what the code before them found.

``detref/`` holds the detectors as they were before the #15 fast paths (literal-prefix dispatch,
C-level validators, ASCII offset shortcuts). Every finding (type, span, score) of the current
detectors must equal the reference's on generated text built from the pieces the fast paths
branch on: digit runs and separators, vendor prefixes, case-folded keywords (including the
non-ASCII letters RE2 folds onto ASCII ones), quotes, "=" and ":", and non-ASCII text that moves
byte offsets away from code point offsets.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from celgate.detectors import _re
from celgate.detectors._re import match_at
from celgate.detectors.pii import _PHONE_RX, PiiDetector, _may_be_phone, iban_ok, luhn_ok
from celgate.detectors.secrets import (
    _CRED,
    _CRED_WINDOW,
    _RX,
    _RX_SPECIFIC,
    SecretsDetector,
    _classes,
    _cred_value,
    _cred_value_of,
)
from celgate.detectors.settings import CustomPattern
from tests.unit.detectors.detref import pii_ref, secrets_ref

PIECES = [
    *("0", "1", "4", "5", "9", "00", "011", "+", "(", ")", "-", " ", ".", "/", ":", "::", "x", " ext. ", "#"),
    *("4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "5555555555554444", "6011111111111117"),
    *("555-123-4567", "(555) 123-4567", "1-555-123-4567", "1(555)123-4567", "+1 555 123 4567"),
    *("+44 20 7946 0958", "020 7946 0958", "07700900123", "0123456789"),
    *("GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR14"),
    *("123-45-6789", "078-05-1120", "ssn: 123456789", "Social Security No. ", "SSN", "\u017f\u017fn "),
    *("192.168.0.1", "10.0.0.256", "v1.2.3.4", "version 10.0.0.1", "2001:db8::1", "fe80::", "ab:cd:ef"),
    *("a@b.co", "john.doe@example.com", "x..y@z.io", "@", "EMP-123456"),
    *("AKIAIOSFODNN7EXAMPLE", "ASIA", "ghp_", "github_pat_", "glpat-", "xoxb-", "sk_live_", "rk_test_", "whsec_"),
    *("AIza", "sk-", "sk-ant-", "sk-proj-", "eyJ", "eyJhbGciOiJIUzI1NiJ9", ".eyJzdWIiOiIxIn0.", "T3BlbkFJ"),
    *("-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "https://hooks.slack.com/services/T"),
    *("password", "PassWord", "passwd", "pwd", "secret", "SECRET_KEY", "client_secret", "token", "api_key"),
    *("API-KEY", "apikey", "access_token", "refresh_token", "private_key", "credentials", "\u017fecret", "to\u212aen"),
    *("aws_secret_access_key", "AWS_SECRET", "secret_access_key", "=", " = ", ": ", "=>", ":=", '"', "'"),
    *(",", ";", "\n", "\t", "\v", "\f", "\r", "\x85", "\u00a0"),
    *("é", "€", "😀", "ü", "xxx", "changeme", "${X}", "<", "Zq9", "wJalrXUtnFEMI/K7MDENG"),
]
ALPHABET = "0123456789 -./:+()abcdefxyzABCDEFXYZ_@=\"'é€\n"


def _pieces_text(rnd: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        if rnd.random() < 0.75:
            out.append(rnd.choice(PIECES))
        else:
            out.append("".join(rnd.choices(ALPHABET, k=rnd.randint(1, 24))))
    return "".join(out)


CUSTOM = (CustomPattern("employee_id", r"\bEMP-\d{6}\b", 0.9, False),)
NEW_PII, REF_PII = PiiDetector(CUSTOM), pii_ref.PiiDetector(CUSTOM)
NEW_SEC, REF_SEC = SecretsDetector(), secrets_ref.SecretsDetector()


def _same(text: str) -> None:
    assert NEW_PII.scan(text) == REF_PII.scan(text), text
    assert NEW_SEC.scan(text) == REF_SEC.scan(text), text
    data = text.encode("utf-8", "replace")
    pos = 0
    while pos <= len(data):  # every candidate start: the fast dispatch names the same alternative
        s, e = _RX.search(data, pos, len(data))
        if s < 0:
            break
        i = _RX.kind_fast(data, s, len(data))
        assert i == _RX.kind(data, s, len(data)), text
        if i == _CRED and e - s <= _CRED_WINDOW:
            assert _cred_value_of(data, s, e) == _cred_value(data, s, len(data)), text
        assert _RX_SPECIFIC.may_start(data, s) or _RX_SPECIFIC.search(data, s, len(data))[0] != s, text
        pos = e if e > s else e + 1


def test_seeded_documents_match_the_reference() -> None:
    rnd = random.Random(15)
    for _ in range(3000):
        _same(_pieces_text(rnd, rnd.randint(1, 30)))


def test_long_text_matches_the_reference() -> None:
    # Over the 4 KB line where the detectors start reading the clock, and with non-ASCII text.
    rnd = random.Random(16)
    _same(_pieces_text(rnd, 4000))
    _same("é" + _pieces_text(rnd, 4000))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(ALPHABET, max_size=12), max_size=25).map("".join))
def test_generated_text_matches_the_reference(text: str) -> None:
    _same(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(ALPHABET, max_size=12), max_size=12).map("".join))
def test_phone_prefilter_never_hides_a_phone(text: str) -> None:
    data = text.encode("utf-8", "replace")
    for s in range(len(data)):
        assert _may_be_phone(data, s) or match_at(_PHONE_RX, data, s, len(data)) is None, (text, s)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_validators_match_the_reference(s: str) -> None:
    assert _classes(s) == secrets_ref._classes(s)
    digits = "".join(c for c in s if c.isdigit())
    assert luhn_ok(digits) == pii_ref.luhn_ok(digits)
    alnum = "".join(c for c in s.upper() if c.isascii() and c.isalnum())
    candidate = "GB82" + alnum
    assert iban_ok(candidate) == pii_ref.iban_ok(candidate)


def test_dispatch_without_a_prefix_table_is_the_plain_one() -> None:
    alt = _re.Alternation([("a", r"ab+"), ("b", r"a\w+")])
    data = b"abbb ac"
    assert [alt.kind_fast(data, s, len(data)) for s in (0, 5)] == [0, 1]
    assert alt.may_start(data, 4)

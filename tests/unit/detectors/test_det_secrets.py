from __future__ import annotations

import base64
import json

import pytest

from celgate.detectors.secrets import shannon_entropy


def spans_of(text: str, findings: list) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in findings]


def _jwt() -> str:
    enc = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")  # noqa: E731
    return ".".join(
        [
            enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()),
            enc(b'{"sub":"42"}'),
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        ]
    )


CASES = [
    ("key AKIAIOSFODNN7EXAMPLE here", "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("t ghp_" + "a1B2" * 9 + " ok", "github_token", "ghp_" + "a1B2" * 9),
    ("glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn", "gitlab_token", "glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn"),
    ("xoxb-123456789012-abcdefABCDEF", "slack_token", "xoxb-123456789012-abcdefABCDEF"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "google_api_key", "AIzaSyA-1234567890abcdefghijklmnopqrstu"),
    ("OPENAI=sk-proj-AbCdEf1234567890GhIjKlMn", "openai_api_key", "sk-proj-AbCdEf1234567890GhIjKlMn"),
    ("sk-ant-api03-AbCdEf1234567890GhIjKlMn", "anthropic_api_key", "sk-ant-api03-AbCdEf1234567890GhIjKlMn"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY----- tail",
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
    ),
    ("auth " + _jwt(), "jwt", _jwt()),
    ('password = "Tr0ub4dor&3x!"', "credential_assignment", "Tr0ub4dor&3x!"),
    ("DB_PASSWORD=s3cr3tP4ssw0rd2024", "credential_assignment", "s3cr3tP4ssw0rd2024"),
]


@pytest.mark.parametrize(("text", "typ", "value"), CASES)
def test_secret_kinds(suite, text: str, typ: str, value: str) -> None:
    assert spans_of(text, suite.secrets(text)) == [(typ, value)]


@pytest.mark.parametrize(
    "text",
    [
        "the password is required for login",
        "password: changeme",
        "api_key: getenv(KEY)",
        "password = ${DB_PASSWORD}",
        "token: <your-token-here>",
        "we use sk-learn-compatible-estimators-for this",
        "eyJhbGciOi.eyJzdWIiOi.notajwt",
        "Set the secret: something simple",
    ],
)
def test_prose_does_not_fire(suite, text: str) -> None:
    assert suite.secrets(text) == []


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0


def test_alternation_dispatch_is_leftmost_first() -> None:
    """The group-free finder + first-byte dispatch picks the same alternative and span as the
    grouped alternation (RE2's leftmost-first choice)."""
    import random

    from celgate.detectors import secrets as S
    from celgate.detectors._re import _UNANCHORED, compile_re, group_names

    grouped = compile_re("|".join(f"(?P<{n}>{p})" for n, p in S._ALTS))
    top = {i: n for i, n in group_names(grouped).items() if n in S.SECRET_TYPES}
    parts = [
        "password=",
        "token: ",
        "aws_secret_access_key = ",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "sk-ant-",
        "sk-",
        "eyJ",
        "-----BEGIN RSA PRIVATE KEY-----",
        "xoxb-1-2",
        "AIza" + "x" * 35,
        " ",
        "=",
        "'",
        '"',
        "é",
        "api_key",
        "Secret",
        "glpat-",
        "Zq9!xY7#",
        "/",
    ]
    rnd = random.Random(11)
    for _ in range(3000):
        data = "".join(rnd.choice(parts) for _ in range(rnd.randint(1, 12))).encode()
        pos = 0
        while pos <= len(data):
            sp = grouped._regexp.Match(_UNANCHORED, data, pos, len(data))
            s, e = S._RX.search(data, pos, len(data))
            assert (s, e) == sp[0]
            if s < 0:
                break
            assert S._RX.names[S._RX.kind(data, s, len(data))] == next(n for i, n in top.items() if sp[i][0] >= 0)
            pos = e if e > s else e + 1

"""Secrets: vendor tokens with fixed prefixes, private key blocks, JWTs, credential assignments.

Prefixed tokens (``AKIA``, ``ghp_``, ``glpat-``, ``xoxb-``, ``sk_live_``, ``AIza``, ``sk-``,
``sk-ant-``) are precise by construction, so they are found by one RE2 alternation and only
lightly validated. Context-dependent values (an AWS secret key, ``password = ...``) additionally
need an entropy check so ordinary prose ("the password is required") does not fire. Findings
for assignments span only the value, so redaction keeps the key name readable.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections import Counter

from celgate.detectors._re import CHECK_EVERY, Alternation, Text, unscanned
from celgate.detectors.base import Finding

SECRET_TYPES: frozenset[str] = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "github_token",
        "gitlab_token",
        "slack_token",
        "stripe_key",
        "google_api_key",
        "openai_api_key",
        "anthropic_api_key",
        "private_key",
        "jwt",
        "credential_assignment",
    }
)

_KEYWORDS = (
    r"password|passwd|passphrase|pwd|secret|client_secret|secret_key|token|access_token|auth_token"
    r"|refresh_token|api_key|apikey|api-key|access_key|private_key|credentials?"
)
_ALTS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b"),
    (
        "aws_secret_access_key",
        r"(?i:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|aws_?secret)[\"']?\s*(?:[:=]|=>)"
        r"\s*[\"']?(?P<aws_secret_value>[A-Za-z0-9/+]{40})\b",
    ),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]+|github_pat_[A-Za-z0-9_]+)\b"),
    ("gitlab_token", r"\bgl(?:pat|ptt|dt|rt|soat|cbt|imt|ft|agent)-[A-Za-z0-9_-]+"),
    (
        "slack_token",
        r"\bxox[abposr]-[A-Za-z0-9-]+|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+",
    ),
    ("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9]+"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("anthropic_api_key", r"\bsk-ant-[A-Za-z0-9_-]+"),
    ("openai_api_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]+"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    (
        "credential_assignment",
        r"(?i:" + _KEYWORDS + r")[\"']?\s*(?:[:=]|=>|:=)\s*"
        r"(?:\"(?P<cred_dq>[^\"\s]+)\"|'(?P<cred_sq>[^'\s]+)'|(?P<cred_bare>[^\s\"',;]+))",
    ),
)
# Per alternative, literal prefixes one of which every match starts with (lower case where the
# flag says the comparison folds case): Alternation.kind_fast names the winning alternative from
# these with at most one anchored RE2 call for most candidates instead of one per alternative
# sharing the first byte. test_det_fastpath.py checks them against Alternation.kind.
_PREFIXES: dict[str, tuple[tuple[bytes, ...], bool]] = {
    "private_key": ((b"-----BEGIN ",), False),
    "aws_access_key_id": (
        (b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AIPA", b"ANPA", b"ANVA", b"AROA", b"APKA", b"ASCA"),
        False,
    ),
    "aws_secret_access_key": ((b"aws", b"secret"), True),
    "github_token": ((b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"), False),
    "gitlab_token": (
        (b"glpat-", b"glptt-", b"gldt-", b"glrt-", b"glsoat-", b"glcbt-", b"glimt-", b"glft-", b"glagent-"),
        False,
    ),
    "slack_token": (
        (b"xoxa-", b"xoxb-", b"xoxp-", b"xoxo-", b"xoxs-", b"xoxr-", b"https://hooks.slack.com/services/T"),
        False,
    ),
    "stripe_key": ((b"sk_live_", b"sk_test_", b"rk_live_", b"rk_test_", b"whsec_"), False),
    "google_api_key": ((b"AIza",), False),
    "anthropic_api_key": ((b"sk-ant-",), False),
    "openai_api_key": ((b"sk-",), False),
    "jwt": ((b"eyJ",), False),
    "credential_assignment": (
        (
            *(b"pass", b"pwd", b"secret", b"client_secret", b"token", b"access_", b"auth_token"),
            *(b"refresh_token", b"api", b"private_key", b"credential"),
        ),
        True,
    ),
}
_RX = Alternation(_ALTS, prefixes=_PREFIXES)
# Vendor tokens only: an assignment whose whole value is a vendor token reports the token's kind.
_RX_SPECIFIC = Alternation(
    [(n, p) for n, p in _ALTS if n != "credential_assignment"],
    prefixes={n: v for n, v in _PREFIXES.items() if n != "credential_assignment"},
)
_CRED = _ALTS.index(next(a for a in _ALTS if a[0] == "credential_assignment"))
_CRED_GROUPS = ("cred_dq", "cred_sq", "cred_bare")
_PLACEHOLDER = ("xxx", "***", "<", "${", "{{", "%(", "changeme", "example", "redacted", "your", "dummy", "...")
# Stdlib re on purpose: an alternation of plain literals has no quantifier to backtrack into, so
# a search costs at most (positions x literals x longest literal), linear in the value's length,
# and for a short value one C call beats a Python loop of `in` tests.
_PLACEHOLDER_RX = re.compile("|".join(re.escape(p) for p in _PLACEHOLDER))


def shannon_entropy(s: str) -> float:
    """Bits per character of ``s`` (0 for empty)."""
    if not s:
        return 0.0
    n = len(s)
    if n > _TERMS_MAX:
        return -sum(c / n * math.log2(c / n) for c in Counter(s).values())
    terms = _TERMS.get(n)
    if terms is None:
        terms = _TERMS[n] = [0.0, *(c / n * math.log2(c / n) for c in range(1, n + 1))]
    # The same terms in the same order as the formula above, so the same float to the last bit.
    return -sum(map(terms.__getitem__, Counter(s).values()))


# Per length n <= _TERMS_MAX, the entropy term c/n * log2(c/n) of a character seen c times.
_TERMS: dict[int, list[float]] = {}
_TERMS_MAX = 256


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _classes(s: str) -> int:
    if s.isascii():
        # Same count with C-level string methods (for ASCII, str.islower/isupper/isdigit/isalnum
        # of a character are exactly a-z, A-Z, 0-9 and their union).
        return (
            (s.upper() != s)
            + (s.lower() != s)
            + (len(s.translate(_NO_DIGITS)) != len(s))
            + (bool(s) and not s.isalnum())
        )
    return sum(
        (
            any(c.islower() for c in s),
            any(c.isupper() for c in s),
            any(c.isdigit() for c in s),
            any(not c.isalnum() for c in s),
        )
    )


def looks_random(value: str, min_entropy: float) -> bool:
    """High entropy, at least two character classes, not a placeholder or a code expression."""
    return _random_entropy(value, min_entropy) is not None


def _random_entropy(value: str, min_entropy: float) -> float | None:
    """The entropy of ``value`` if :func:`looks_random` holds for it, else None (one computation)."""
    low = value.lower()
    if _PLACEHOLDER_RX.search(low) or "(" in value or value.startswith(("$", "%", "@")):
        return None
    if value.isalpha() and value.islower():
        return None
    if value.startswith("-----") or (value.replace("_", "").isalpha() and low == value):
        return None  # a key block header or another key name ("token: aws_secret_access_key = ...")
    if len(value) < 8 or _classes(value) < 2:
        return None
    h = shannon_entropy(value)
    return h if h >= min_entropy else None


def _jwt_ok(tok: str) -> bool:
    head = tok.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (ValueError, TypeError):
        return False
    try:
        header = json.loads(raw)
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header


class SecretsDetector:
    """Vendor tokens, key blocks, JWTs and high-entropy credential assignments."""

    name = "secrets"
    types = SECRET_TYPES

    def __init__(self, min_entropy: float = 3.0, max_chars: int = 4_000_000, max_seconds: float = 2.0) -> None:
        self.min_entropy = min_entropy
        self.max_chars = max_chars
        self.max_seconds = max_seconds

    def scan(self, text: str, prepared: Text | None = None) -> list[Finding]:
        t = prepared if prepared is not None else Text(text, self.max_chars)
        out: list[Finding] = []
        data = t.data
        pos, n, count = 0, len(data), 0
        deadline = time.monotonic() + self.max_seconds if n > _NO_CLOCK_BELOW else None
        retried_to, nested = -1, 0  # end of the last rejected value searched inside, and how often
        find = _RX.search
        while pos <= n:
            s, e = find(data, pos, n)
            if s < 0:
                break
            count += 1
            if deadline is not None and count % CHECK_EVERY == 0 and time.monotonic() > deadline:
                return out + unscanned(t, s)
            pos = e if e > s else e + 1
            i = _RX.kind_fast(data, s, n)
            if i == _CRED:
                vs, ve = _cred_value_of(data, s, e) if e - s <= _CRED_WINDOW else _cred_value(data, s, n)
                f = self._assignment(t, vs, ve)
                if f is None:
                    # The rejected "value" may itself start another secret ("token: aws_secret...
                    # = x"). At most _MAX_NESTED searches inside matches ending at the same byte,
                    # so "password=password=..." (every match runs to the end) stays linear.
                    if e != retried_to:
                        retried_to, nested = e, 0
                    if nested < _MAX_NESTED:
                        nested += 1
                        pos = vs
                    continue
            else:
                f = self._validate(_RX, i, data, s, e, t)
            if f is not None:
                if t.ascii:
                    out.append(Finding(*f))
                else:
                    out.append(Finding(f[0], t.cp(f[1]), t.cp(f[2]), f[3]))
        return out + unscanned(t) if t.full_len > len(t.text) else out

    def _validate(
        self, alt: Alternation, i: int, data: bytes, s: int, e: int, t: Text
    ) -> tuple[str, int, int, float] | None:
        kind = alt.names[i]
        if e - s < _MIN_LEN.get(kind, 0) or (
            kind == "github_token" and data[s : s + 11] == b"github_pat_" and e - s < 33
        ):
            return None
        if kind == "private_key":
            end_marker = data.find(b"-----END ", e, e + 65_536)
            if end_marker >= 0:
                close = data.find(b"-----", end_marker + 9, end_marker + 80)
                if close >= 0:
                    e = close + 5
            return (kind, s, e, 0.99)
        if kind == "aws_secret_access_key":
            sp = alt.groups(i, data, s, len(data))
            vs, ve = sp[alt.group_index[i]["aws_secret_value"]]
            value = t.s(vs, ve)
            return (kind, vs, ve, 0.9) if shannon_entropy(value) >= 3.5 else None
        if kind == "credential_assignment":
            return self._assignment(t, *_cred_value(data, s, len(data)))
        if kind == "openai_api_key":
            body = t.s(s, e)
            if _classes(body[3:]) < 3 and "T3BlbkFJ" not in body:
                return None  # "sk-learn-compatible-estimators" is prose, keys mix case and digits
            return (kind, s, e, 0.95)
        if kind == "jwt":
            return (kind, s, e, 0.95) if _jwt_ok(t.s(s, e)) else None
        return (kind, s, e, 0.99)

    def _assignment(self, t: Text, vs: int, ve: int) -> tuple[str, int, int, float] | None:
        """A credential assignment's value (byte span): a vendor token, a random value, or None."""
        if not 6 <= ve - vs <= 200:
            return None
        specific = self._specific(t, vs, ve)
        if specific is not None:
            return specific  # "TOKEN=ghp_..." is a github_token, not a generic assignment
        h = _random_entropy(t.s(vs, ve), self.min_entropy)
        if h is None:
            return None
        score = min(0.95, 0.5 + (h - self.min_entropy) / 4)
        return ("credential_assignment", vs, ve, round(score, 3))

    def _specific(self, t: Text, vs: int, ve: int) -> tuple[str, int, int, float] | None:
        """A vendor-specific token filling an assignment's whole value, validated as its kind."""
        if not _RX_SPECIFIC.may_start(t.data, vs):
            return None  # no vendor prefix at the value's start: the search below cannot hit vs
        s, e = _RX_SPECIFIC.search(t.data, vs, ve)
        if s != vs or e != ve:
            return None
        return self._validate(_RX_SPECIFIC, _RX_SPECIFIC.kind_fast(t.data, s, ve), t.data, s, e, t)


def _cred_value(data: bytes, s: int, n: int) -> tuple[int, int]:
    """The value span of the credential assignment starting at ``s``.

    Submatches are extracted within a window first: a value longer than the window is longer
    than any accepted value anyway (its span is then cut at the window), and the submatch
    engine never walks a huge run such as "password=password=...". Only a key part longer than
    the window (pathological whitespace) needs the exact, full-length extraction.
    """
    index = _RX.group_index[_CRED]
    sp = _RX.groups(_CRED, data, s, min(n, s + _CRED_WINDOW))
    if sp[0][0] < 0:
        sp = _RX.groups(_CRED, data, s, n)
    for g in _CRED_GROUPS:
        vs, ve = sp[index[g]]
        if vs >= 0:
            return vs, ve
    return sp[0]  # pragma: no cover - one of the three always participates


def _cred_value_of(data: bytes, s: int, e: int) -> tuple[int, int]:
    r""":func:`_cred_value` of the assignment match ``[s, e)`` without a submatch call.

    Exact for a match no longer than ``_CRED_WINDOW`` (then the windowed submatch is the full
    match, so both read the same span). Before the separator the pattern has only the keyword
    (letters, "_", "-"), an optional quote and whitespace, so the separator is the first ":" or
    "=" of the match, and it is always the one-character ``[:=]`` branch: whatever follows
    "=>" or ":=" also matches after the first character alone (">" and "=" start a bare value).
    After it and RE2's ``\s`` (tab, newline, form feed, return, space) comes the value: a
    double or single quote can only open the quoted branch (a bare value excludes quotes), and
    that value ends before the closing quote, the match's last byte.
    """
    colon, equals = data.find(b":", s, e), data.find(b"=", s, e)
    sep = colon if equals < 0 or 0 <= colon < equals else equals
    i = sep + 1
    while i < e and data[i] in b"\t\n\f\r ":
        i += 1
    if i < e and data[i] in b"\"'":
        return i + 1, e - 1
    return i, e


# Texts shorter than this skip the clock reads (a scan this small cannot reach any time budget).
_NO_CLOCK_BELOW = 4096
_MAX_NESTED = 8
_CRED_WINDOW = 512


_MIN_LEN = {
    "github_token": 40,
    "gitlab_token": 26,
    "slack_token": 15,
    "stripe_key": 24,
    "anthropic_api_key": 27,
    "openai_api_key": 23,
    "jwt": 20,
}

"""Normalising text and finding entities in it, the two keys provenance is traced by.

Normalised form: Unicode NFKC, case-folded, every run of characters that are neither letters nor
digits turned into one space. "Alice  Smith," and "alice smith" are the same value; "Bob" is not a
part of "Bobby" because matches are whole tokens. Entities are the values an attacker wants in a
tool call and a model may reword the text around: e-mail addresses, URLs and their domains, IBANs,
long digit runs (account, card and phone numbers, compared digits only), file names and numbers.
Patterns are RE2 (linear time) and inputs are cut at a bound, so no text can make this slow.
"""

from __future__ import annotations

import re
import unicodedata

import re2

MAX_TEXT_CHARS = 1 << 20  # one source is analysed up to 1 MiB; the rest is not indexed

_OPTS = re2.Options()
_OPTS.case_sensitive = False
_OPTS.max_mem = 32 << 20
_OPTS.log_errors = False
_EMAIL = re2.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}", _OPTS)
_URL = re2.compile(
    r"(?:https?|ftp)://[^\s<>\"'`\])}]+|\bwww\.[a-z0-9\-]+(?:\.[a-z0-9\-]+)+[^\s<>\"'`\])}]*"
    r"|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|org|net|io|dev|ai|co|uk|de|fr|info|biz|xyz|app)\b(?:/[^\s<>\"'`\])}]*)?",
    _OPTS,
)
_CASED = re2.Options()
_CASED.max_mem = 32 << 20
_CASED.log_errors = False
_IBAN = re2.compile(r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", _CASED)
_DIGITS = re2.compile(r"\+?[0-9][0-9 ().\-]{4,30}[0-9]", _OPTS)
_FILE = re2.compile(
    r"\b[\w\-]+(?:\.[\w\-]+)*\.(?:txt|pdf|docx?|xlsx?|csv|pptx?|md|json|ya?ml|png|jpe?g|zip|py|html?)\b", _OPTS
)
_NUMBER = re2.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?", _OPTS)
_TRAIL = ".,;:!?*_~/"
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """NFKC, case-folded, non-alphanumeric runs as one space, trimmed."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_ALNUM.sub(" ", folded).strip()


def canonical_number(text: str) -> str | None:
    """`1,000.50`, `1000.5` and `1000.50` are one number; None when `text` is not a number."""
    t = text.strip().lstrip("$€£").replace(",", "")
    try:
        value = float(t)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return repr(round(value, 6)).removesuffix(".0")


def _host(url: str) -> str:
    u = url.lower()
    for prefix in ("https://", "http://", "ftp://"):
        if u.startswith(prefix):
            u = u[len(prefix) :]
    u = u.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0].rsplit("@", 1)[-1]
    return u.removeprefix("www.").rstrip(".")


def entities(text: str) -> dict[str, str]:
    """The entities in `text`: canonical key -> entity type (`email`, `url`, `domain`, `iban`,
    `digits`, `file`). Keys are prefixed with the type so an e-mail never meets a file name."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
    out: dict[str, str] = {}
    for m in _EMAIL.findall(text):
        e = m.lower().rstrip(_TRAIL)
        out["email:" + e] = "email"
        out["domain:" + e.rsplit("@", 1)[-1]] = "domain"
    for m in _URL.findall(text):
        u = m.rstrip(_TRAIL)
        if "@" in u and "/" not in u:
            continue  # the domain of an e-mail address, already counted
        host = _host(u)
        if host:
            out["domain:" + host] = "domain"
        if "/" in u.split("://", 1)[-1]:
            out["url:" + u.lower().split("://", 1)[-1].removeprefix("www.")] = "url"
    for m in _IBAN.findall(text):
        key = m.replace(" ", "").upper()
        if any(c.isdigit() for c in key[4:]):
            out["iban:" + key] = "iban"
    for m in _DIGITS.findall(text):
        digits = "".join(c for c in m if c.isdigit())
        if len(digits) >= 6:
            out["digits:" + digits] = "digits"
    for m in _FILE.findall(text):
        out["file:" + m.lower()] = "file"
    return out


def numbers(text: str) -> set[str]:
    """Every number written in `text`, canonical (see `canonical_number`)."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
    out = set()
    for m in _NUMBER.findall(text):
        c = canonical_number(m)
        if c is not None:
            out.add(c)
    return out

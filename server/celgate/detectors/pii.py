"""PII: e-mail, phone, payment card, IBAN, US SSN, IP address, plus custom patterns.

One RE2 alternation with a named group per kind finds candidates in a single linear scan;
Python then validates each candidate (Luhn, IBAN mod-97, SSN ranges, IP octets) so format-alike
strings such as order numbers, UUIDs and version strings do not fire. When a digit-run
candidate fails validation (say a 13-digit phone-looking run that fails Luhn), the phone-only
pattern is retried inside the same span so the alternation's leftmost-first choice does not
hide a phone number.
"""

from __future__ import annotations

import ipaddress
import time

from celgate.detectors._re import (
    _UNANCHORED,
    CHECK_EVERY,
    Text,
    compile_re,
    group_names,
    match_at,
    spans,
    unscanned,
)
from celgate.detectors.base import Finding
from celgate.detectors.settings import CustomPattern

PII_TYPES: frozenset[str] = frozenset({"email", "phone", "credit_card", "iban", "us_ssn", "ip_address"})

# RE2's DFA is fast only without large bounded repeats ({12,18}, {0,63}): counted repeats
# multiply DFA states until the cache thrashes and RE2 falls back to the NFA (100x slower).
# So candidates use open repeats and lengths are checked in Python on the (few) candidates.
# E-mail is matched only in windows around each "@" (found by bytes.find at C speed): an
# open local-part repeat inside the alternation would keep a thread alive across long
# "1-1-1-..." runs on every restart, making the scan quadratic.
_EMAIL = (
    r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)
_EMAIL_RX = compile_re(_EMAIL)
# Two-letter country, two check digits, alphanumerics (lengths per country checked in Python).
_IBAN = r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]+|(?: [A-Z0-9]{4})+(?: [A-Z0-9]{1,3})?)\b"
_CARD = r"\b\d(?:[ -]?\d){12,}\b"
_SSN = r"\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b|(?i:ssn|social security(?: number| no\.?)?)[ \t:#.-]+\d{9}\b"
_IPV4 = r"\b(?:\d{1,3}\.){3}\d{1,3}\b"
_IPV6 = r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:]*[0-9A-Fa-f]"
# Phone numbers end at a word boundary or run into an extension ("x890", " ext. 12").
_EXT = r"(?:[ ]?(?:x|ext\.?)[ ]?\d+\b|\b)"
_PHONE_INTL = r"\B\+\d[\d .()-]*\d" + _EXT
_PHONE = (
    # International: +CC ...; digit count validated (8..15, E.164).
    _PHONE_INTL
    # International with 00 / 011 prefix.
    + r"|\b0(?:0|11)[ .-]?\d[\d .()-]*\d"
    + _EXT
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567, 1-555-123-4567.
    + r"|(?:\b1[ .-]?)?(?:\B\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4}"
    + _EXT
    # National with trunk 0 (UK, FR, DE, IT, ...): 020 7946 0958, 01 23 45 67 89, 030/1234567,
    # 07700900123 (unseparated), (0151) 12345678, (029)-2018489.
    + r"|\b0\d+(?:[ ./-]\d+)+\b|\b0\d{9,10}\b"
    + r"|\B\(0\d+\)[ .-]?\d+(?:[ .-]\d+)*\b"
)
# A rejected digit run longer than this is not re-searched inside (keeps restarts linear).
_MAX_RETRY_SPAN = 48

_PII_RX = compile_re(
    "|".join(
        f"(?P<{n}>{p})"
        for n, p in (
            ("iban", _IBAN),
            ("phone_intl", _PHONE_INTL),
            ("ssn", _SSN),
            ("card", _CARD),
            ("ipv4", _IPV4),
            ("phone", _PHONE),
            ("ipv6", _IPV6),
        )
    )
)
# One submatch call per candidate is cheaper here than a group-free finder plus a dispatch
# (PII alternatives share first bytes: digits start SSNs, cards, IPs and phones alike).
_PII_GROUPS = group_names(_PII_RX)
_PHONE_RX = compile_re(_PHONE)
_GROUP_OF = {n: i for i, n in _PII_GROUPS.items()}
# Rejected candidates of these kinds are retried as a phone number at the same start ...
_PHONE_RETRY = frozenset(_GROUP_OF[k] for k in ("card", "ssn", "ipv4"))
# ... and these resume after their first separator.
_SEP_RETRY = frozenset(_GROUP_OF[k] for k in ("card", "ssn", "phone", "phone_intl"))


def _may_be_phone(data: bytes, s: int) -> bool:
    r"""False only where ``_PHONE`` cannot match anchored at ``s`` (saves the retry's RE2 call).

    Every alternative of ``_PHONE`` starts with "+", "0", "(" or "1", except the North American
    one without a leading 1, which starts with three digits and a separator (``\d{3}[ .-]``):
    so a start on a digit 2-9 needs a " ", "." or "-" three bytes on. A 16-digit run or an
    order number rejected as a card is thereby not matched again as a phone.
    """
    b = data[s]
    if 50 <= b <= 57:  # "2".."9"
        return s + 3 < len(data) and data[s + 3] in b" .-"
    return b in b"+0(1"


def _first_sep(raw: str) -> int:
    """Index of the first of " -./" in ``raw``, -1 if none."""
    cut = -1
    for c in " -./":
        i = raw.find(c)
        if i >= 0 and (cut < 0 or i < cut):
            cut = i
    return cut


_IBAN_LEN = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}
_DIGITS = str.maketrans("", "", " -.()/+")
_COUNTING = "0123456789012" + "  " + "0987654321098"


_CARD_MAX_CHARS = 19 + 18  # 19 digits, a separator between each: bounds the prefix search (linear)


def _card_ok(raw: str) -> bool:
    d = raw.translate(_DIGITS)
    # At most one kind of separator (" " or "-"), as before with a set of the separators seen.
    return (
        13 <= len(d) <= 19
        and not (" " in raw and "-" in raw)
        and luhn_ok(d)
        and card_brand(d) is not None
        and len(set(d)) > 1
    )


# Luhn on ASCII digits with C-level byte operations: the digits in odd places from the right
# count as they are (byte value - 48), those in even places doubled with the digits of the
# product summed: a translate table maps b"0".."9" to those values (0 2 4 6 8 1 3 5 7 9).
_LUHN_DOUBLE = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))


def luhn_ok(digits: str) -> bool:
    """Luhn mod-10 check (cards)."""
    if digits.isascii() and digits.isdigit():
        b = digits.encode()
        odd, even = b[::-2], b[-2::-2]
        return (sum(odd) - 48 * len(odd) + sum(even.translate(_LUHN_DOUBLE))) % 10 == 0
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(d: str) -> str | None:
    """Major brand for a card number's IIN and length, ``None`` if no major brand matches."""
    n = len(d)
    p2, p4 = int(d[:2]), int(d[:4])
    if d[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (d.startswith("6011") or p2 == 65 or 644 <= int(d[:3]) <= 649) and 16 <= n <= 19:
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= int(d[:3]) <= 305 or p2 in (36, 38)) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    return None


def iban_ok(raw: str) -> bool:
    """Country length table and ISO 13616 mod-97 == 1."""
    s = raw.replace(" ", "")
    if _IBAN_LEN.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    if moved.isascii() and moved.isalnum() and moved.upper() == moved:
        return int(moved.translate(_IBAN_LETTERS)) % 97 == 1  # A -> 10 ... Z -> 35, as int(c, 36)
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


_IBAN_LETTERS = str.maketrans({c: str(int(c, 36)) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def ssn_ok(d: str) -> bool:
    """SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    area, group, serial = d[:3], d[3:5], d[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ipv4_ok(s: str, before: str, after: str) -> bool:
    parts = s.split(".")
    if any(len(p) > 1 and p[0] == "0" for p in parts) or any(int(p) > 255 for p in parts):
        return False
    # Version strings: "v1.2.3.4", "1.2.3.4.5", "version 10.0.0.1" stay out.
    if before[-1:] in ("v", "V", ".") or (after[:1] == "." and after[1:2].isdigit()):
        return False
    return not before.rstrip().lower().endswith(("version", "ver", "release", "build"))


def _phone_ok(s: str) -> float:
    digits = s.split("x")[0].split("ext")[0].split("#")[0].translate(_DIGITS)
    n = len(digits)
    if s.startswith("+") or s.startswith(("00", "011")):
        return 0.85 if 8 <= n <= 15 else 0.0
    if s[0] == "0" or s.startswith("(0"):  # trunk 0: never a North American area code
        if len(set(digits)) <= 2 or not 9 <= n <= 12:
            return 0.0
        if s[0] == "(" or any(c in " ./-" for c in s):
            return 0.6
        # Unseparated: 0 + area code (not 0) + number, 10-11 digits ("07700900123").
        # Counting runs ("0123456789") are filler, not numbers.
        ok = n in (10, 11) and digits[1] != "0" and len(set(digits)) > 3 and digits not in _COUNTING
        return 0.5 if ok else 0.0
    if n in (10, 11):
        # NANP (optionally with the leading country code 1).
        return 0.8 if n == 10 or digits[0] == "1" else 0.0
    return 0.0


class PiiDetector:
    """E-mail, phone, card, IBAN, SSN, IP (+ custom patterns) in one pass."""

    name = "pii"

    def __init__(
        self, custom: tuple[CustomPattern, ...] = (), max_chars: int = 4_000_000, max_seconds: float = 2.0
    ) -> None:
        self.custom = custom
        self.max_chars = max_chars
        self.max_seconds = max_seconds
        self.types = PII_TYPES | frozenset(c.name for c in custom)
        self._custom_rx = None
        if custom:
            alts = []
            for i, c in enumerate(custom):
                flag = "(?i)" if c.case_insensitive else ""
                alts.append(f"(?P<c{i}>{flag}(?:{c.pattern}))")
            self._custom_rx = compile_re("|".join(alts))

    def scan(self, text: str, prepared: Text | None = None) -> list[Finding]:
        t = prepared if prepared is not None else Text(text, self.max_chars)
        out, stopped = self._builtin(t)
        if b"@" in t.data:
            out.extend(self._emails(t))
            out.sort(key=_by_span)
        if self._custom_rx is not None:
            out.extend(self._customs(t))
            out.sort(key=_by_span)
        if stopped is not None or t.full_len > len(t.text):
            out.extend(unscanned(t, stopped))
        return out

    @staticmethod
    def _emails(t: Text) -> list[Finding]:
        """E-mail candidates in a window around each "@" (local part <= 64, domain <= 255)."""
        data, out = t.data, []
        raw = _EMAIL_RX._regexp
        at = data.find(b"@")
        prev_end = 0
        while at >= 0:
            lo = max(prev_end, at - 64)
            while lo < at and data[lo] & 0xC0 == 0x80:  # never start inside a UTF-8 sequence
                lo += 1
            hi = min(len(data), at + 256)
            nxt = at + 1
            sp = raw.Match(_UNANCHORED, data, lo, hi)
            if sp[0][0] >= 0 and sp[0][0] <= at < sp[0][1]:
                s, e = sp[0]
                local = data[s:at]
                if b".." not in data[s:e] and not local.endswith(b".") and (s == 0 or not _word(data[s - 1])):
                    out.append(Finding("email", t.cp(s), t.cp(e), 0.9))
                nxt = prev_end = e
            at = data.find(b"@", nxt)
        return out

    def _customs(self, t: Text) -> list[Finding]:
        out = []
        rx = self._custom_rx
        assert rx is not None
        for sp in spans(rx, t.data):
            s, e = sp[0]
            if e == s:
                continue
            for i, c in enumerate(self.custom):
                if sp[i + 1][0] >= 0:
                    out.append(Finding(c.name, t.cp(s), t.cp(e), c.score))
                    break
        return out

    def _builtin(self, t: Text) -> tuple[list[Finding], int | None]:
        """Findings, and the byte offset where the time budget stopped the scan (or None)."""
        data, text, asc = t.data, t.text, t.ascii
        out: list[Finding] = []
        match = _PII_RX._regexp.Match
        validate = self._validate
        pos, n = 0, len(data)
        deadline = time.monotonic() + self.max_seconds if n > _NO_CLOCK_BELOW else None
        count = 0
        while pos < n:
            count += 1
            if deadline is not None and count % CHECK_EVERY == 0 and time.monotonic() > deadline:
                return out, pos
            sp = match(_UNANCHORED, data, pos, n)
            whole = sp[0]
            s, e = whole
            if s < 0:
                break
            pos = e if e > s else e + 1
            # The one top-level group that participated spans the whole match; every other
            # group is (-1, -1). list.index finds it in C.
            g = sp.index(whole, 1)
            kind = _PII_GROUPS[g]
            raw = text[s:e] if asc else data[s:e].decode("utf-8", "replace")
            f = validate(kind, raw, t, s, e)
            if f is None and g in _PHONE_RETRY and _may_be_phone(data, s):
                m = match_at(_PHONE_RX, data, s, min(n, e + 16))
                score = _phone_ok(t.s(*m[0])) if m is not None else 0.0
                if m is not None and score:
                    f = ("phone", m[0][0], m[0][1], score)
            if f is not None:
                typ, fs, fe, score = f
                out.append(Finding(typ, fs, fe, score) if asc else Finding(typ, t.cp(fs), t.cp(fe), score))
                pos = max(fe, s + 1)
            elif g in _SEP_RETRY and e - s <= _MAX_RETRY_SPAN:
                # A rejected digit run may hide a valid item after its first group
                # ("555-123-4567 555-987-6543" is one 20-digit card candidate): resume after
                # the first separator. Each retry advances, so this stays linear.
                cut = _first_sep(raw)
                if cut > 0:
                    pos = s + (cut + 1 if asc else len(raw[: cut + 1].encode("utf-8")))
        return out, None

    @staticmethod
    def _validate(kind: str, raw: str, t: Text, s: int, e: int) -> tuple[str, int, int, float] | None:
        if kind == "email":
            local = raw.split("@", 1)[0]
            if ".." in raw or local.endswith("."):
                return None
            return ("email", s, e, 0.9)
        if kind == "card":
            if _card_ok(raw):
                return ("credit_card", s, e, 0.95)
            if len(raw.translate(_DIGITS)) > 13:
                # A card followed by more digit groups ("4111 1111 1111 1111 4111"): the longest
                # leading run of whole groups that is a card is one. Digits and separators are
                # ASCII, so a character count is a byte count here.
                for cut in range(min(len(raw) - 1, _CARD_MAX_CHARS), 12, -1):
                    if raw[cut] in " -" and _card_ok(raw[:cut]):
                        return ("credit_card", s, s + cut, 0.95)
            return None
        if kind == "iban":
            return ("iban", s, e, 0.95) if iban_ok(raw) else None
        if kind == "ssn":
            d = raw[-11:].translate(_DIGITS)[-9:]
            if not ssn_ok(d):
                return None
            if raw[0].isdigit():
                return ("us_ssn", s, e, 0.85)
            return ("us_ssn", e - 9, e, 0.9)  # keyword form: span only the digits
        if kind == "ipv4":
            before = t.s(max(0, s - 10), s)
            after = t.s(e, min(len(t.data), e + 2))
            return ("ip_address", s, e, 0.8) if _ipv4_ok(raw, before, after) else None
        if kind == "ipv6":
            before = t.data[s - 1] if s else 32
            after = t.data[e] if e < len(t.data) else 32
            if _word(before) or _word(after) or before == 58 or after == 58:
                return None
            return _ipv6(raw, s, e)
        score = _phone_ok(raw)  # phone, phone_intl
        return ("phone", s, e, score) if score else None


def _by_span(f: Finding) -> tuple[int, int]:
    return (f.start, f.end)


# Texts shorter than this skip the clock reads (a scan this small cannot reach any time budget).
_NO_CLOCK_BELOW = 4096


def _word(b: int) -> bool:
    return b == 95 or 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b >= 0x80


def _ipv6(raw: str, s: int, e: int) -> tuple[str, int, int, float] | None:
    if raw.count(":") < 2 or not any(c.isdigit() for c in raw):
        return None
    groups = [g for g in raw.split(":") if g]
    if "::" in raw and len(groups) < 2 and raw not in ("::1",):
        return None
    try:
        ipaddress.IPv6Address(raw)
    except ValueError:
        return None
    return ("ip_address", s, e, 0.75)
